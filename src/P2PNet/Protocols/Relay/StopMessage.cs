namespace P2PNet.Protocols.Relay;

// The spec's StopMessage (relay <-> target on /libp2p/circuit/relay/0.2.0/stop), with its codec.
internal sealed record StopMessage(StopMessageType Type)
{
    public RelayPeer? Peer { get; init; }

    public RelayLimit? Limit { get; init; }

    public RelayStatus? Status { get; init; }

    public byte[] ToProtobuf() => RelayCodec.Encode(o =>
    {
        RelayCodec.WriteEnum(o, 1, (int)Type);
        if (Peer is not null) RelayCodec.WriteMessage(o, 2, RelayCodec.EncodePeer(Peer));
        if (Limit is not null) RelayCodec.WriteMessage(o, 3, RelayCodec.EncodeLimit(Limit));
        if (Status is { } s) RelayCodec.WriteEnum(o, 4, (int)s);
    });

    /// <summary>Decodes one message; throws <see cref="RelayException"/> (Malformed, MessageTooLong).</summary>
    public static StopMessage FromProtobuf(ReadOnlySpan<byte> encoded)
    {
        StopMessageType? type = null;
        RelayPeer? peer = null;
        RelayLimit? limit = null;
        RelayStatus? status = null;
        RelayCodec.Decode(encoded, "stop message", (input, field, wire) =>
        {
            switch (field)
            {
                case 1:
                    int t = RelayCodec.ReadEnum(input, wire);
                    type = Enum.IsDefined((StopMessageType)t) ? (StopMessageType)t : throw RelayCodec.Malformed($"unknown stop message type {t}");
                    return true;
                case 2: peer = RelayCodec.DecodePeer(RelayCodec.ReadMessage(input, wire)); return true;
                case 3: limit = RelayCodec.DecodeLimit(RelayCodec.ReadMessage(input, wire)); return true;
                case 4: status = (RelayStatus)RelayCodec.ReadEnum(input, wire); return true;
                default: return false;
            }
        });
        if (type is null) throw RelayCodec.Malformed("stop message without a type");
        return new StopMessage(type.Value) { Peer = peer, Limit = limit, Status = status };
    }
}
