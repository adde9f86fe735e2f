namespace P2PNet.Protocols.Relay;

// The spec's HopMessage (client <-> relay on /libp2p/circuit/relay/0.2.0/hop), with its codec.
internal sealed record HopMessage(HopMessageType Type)
{
    public RelayPeer? Peer { get; init; }

    public ReservationMessage? Reservation { get; init; }

    public RelayLimit? Limit { get; init; }

    public RelayStatus? Status { get; init; }

    public byte[] ToProtobuf() => RelayCodec.Encode(o =>
    {
        RelayCodec.WriteEnum(o, 1, (int)Type);
        if (Peer is not null) RelayCodec.WriteMessage(o, 2, RelayCodec.EncodePeer(Peer));
        if (Reservation is not null) RelayCodec.WriteMessage(o, 3, RelayCodec.EncodeReservation(Reservation));
        if (Limit is not null) RelayCodec.WriteMessage(o, 4, RelayCodec.EncodeLimit(Limit));
        if (Status is { } s) RelayCodec.WriteEnum(o, 5, (int)s);
    });

    /// <summary>Decodes one message; throws <see cref="RelayException"/> (Malformed, MessageTooLong).</summary>
    public static HopMessage FromProtobuf(ReadOnlySpan<byte> encoded)
    {
        HopMessageType? type = null;
        RelayPeer? peer = null;
        ReservationMessage? reservation = null;
        RelayLimit? limit = null;
        RelayStatus? status = null;
        RelayCodec.Decode(encoded, "hop message", (input, field, wire) =>
        {
            switch (field)
            {
                case 1:
                    int t = RelayCodec.ReadEnum(input, wire);
                    type = Enum.IsDefined((HopMessageType)t) ? (HopMessageType)t : throw RelayCodec.Malformed($"unknown hop message type {t}");
                    return true;
                case 2: peer = RelayCodec.DecodePeer(RelayCodec.ReadMessage(input, wire)); return true;
                case 3: reservation = RelayCodec.DecodeReservation(RelayCodec.ReadMessage(input, wire)); return true;
                case 4: limit = RelayCodec.DecodeLimit(RelayCodec.ReadMessage(input, wire)); return true;
                case 5: status = (RelayStatus)RelayCodec.ReadEnum(input, wire); return true;
                default: return false;
            }
        });
        if (type is null) throw RelayCodec.Malformed("hop message without a type");
        return new HopMessage(type.Value) { Peer = peer, Reservation = reservation, Limit = limit, Status = status };
    }
}
