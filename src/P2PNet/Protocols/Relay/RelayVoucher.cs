using P2PNet.Core;

namespace P2PNet.Protocols.Relay;

/// <summary>
/// A reservation voucher: the relay's signed statement that <see cref="Peer"/> holds a reservation on
/// <see cref="Relay"/> until <see cref="Expiration"/>. On the wire it is a libp2p signed envelope (domain
/// <c>libp2p-relay-rsvp</c>, payload type 0x0302) signed with the relay's identity key.
/// </summary>
/// <param name="Relay">The relay that issued it.</param>
/// <param name="Peer">The peer holding the reservation.</param>
/// <param name="Expiration">When the reservation ends (whole seconds).</param>
public sealed record RelayVoucher(PeerId Relay, PeerId Peer, DateTimeOffset Expiration)
{
    /// <summary>The signed-envelope domain of vouchers.</summary>
    public const string Domain = "libp2p-relay-rsvp";

    // Multicodec 0x0302 as its two big-endian bytes, as go- and js-libp2p write it (not as a varint).
    private static readonly byte[] PayloadType = [0x03, 0x02];

    /// <summary>The signed envelope of this voucher, signed by <paramref name="relay"/> (which must be <see cref="Relay"/>).</summary>
    public byte[] Seal(Identity relay)
    {
        ArgumentNullException.ThrowIfNull(relay);
        if (relay.PeerId != Relay) throw new ArgumentException("a voucher is signed by its relay", nameof(relay));
        byte[] payload = RelayCodec.Encode(o =>
        {
            RelayCodec.WriteMessage(o, 1, Relay.Bytes.ToArray());
            RelayCodec.WriteMessage(o, 2, Peer.Bytes.ToArray());
            RelayCodec.WriteUInt64(o, 3, (ulong)Math.Max(0, Expiration.ToUnixTimeSeconds()));
        });
        return SignedEnvelope.Seal(relay, Domain, PayloadType, payload);
    }

    /// <summary>
    /// Verifies a voucher envelope and decodes it. Throws <see cref="RelayException"/> (BadVoucher) when the
    /// envelope does not parse, its signature fails, or its signer is not the voucher's relay.
    /// </summary>
    public static RelayVoucher Open(ReadOnlySpan<byte> envelope)
    {
        var (signer, payload) = SignedEnvelope.Open(envelope, Domain, PayloadType);
        PeerId? relay = null, peer = null;
        ulong? expiration = null;
        try
        {
            RelayCodec.Decode(payload, "voucher", (input, field, wire) =>
            {
                switch (field)
                {
                    case 1: relay = PeerId.FromBytes(RelayCodec.ReadMessage(input, wire)); return true;
                    case 2: peer = PeerId.FromBytes(RelayCodec.ReadMessage(input, wire)); return true;
                    case 3: expiration = RelayCodec.ReadUInt64(input, wire); return true;
                    default: return false;
                }
            });
        }
        catch (RelayException ex)
        {
            throw new RelayException(RelayError.BadVoucher, $"the voucher does not parse: {ex.Message}", inner: ex);
        }
        if (relay is null || peer is null || expiration is null)
            throw new RelayException(RelayError.BadVoucher, "the voucher lacks a field");
        if (!relay.Matches(signer))
            throw new RelayException(RelayError.BadVoucher, $"the voucher for relay {relay} is signed by {signer.ToPeerId()}");
        long seconds = (long)Math.Min(expiration.Value, (ulong)DateTimeOffset.MaxValue.ToUnixTimeSeconds());
        return new RelayVoucher(relay, peer, DateTimeOffset.FromUnixTimeSeconds(seconds));
    }
}
