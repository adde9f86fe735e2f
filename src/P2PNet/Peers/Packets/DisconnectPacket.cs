using System.Text.Json.Serialization;

namespace P2PNet.Peers.Packets;

/// <summary>Announces that the sender is closing the channel.</summary>
public sealed class DisconnectPacket : NetworkPacket
{
    /// <summary>Creates a packet without a reason.</summary>
    public DisconnectPacket() { }

    /// <summary>Creates a packet carrying <paramref name="reason"/>.</summary>
    public DisconnectPacket(string? reason) => Reason = reason;

    /// <inheritdoc />
    [JsonIgnore]
    public override PacketType Type => PacketType.Disconnect;

    /// <summary>Optional human-readable reason (at most <see cref="PacketCodec.MaxTextLength"/> characters).</summary>
    public string? Reason { get; set; }

    /// <summary>
    /// Set only when this Disconnect is a refusal sent instead of the channel's hello: the name of the
    /// <see cref="PeerNetworkError"/> the refusing side reports (for example <c>Blocked</c>, <c>Duplicate</c>,
    /// <c>Rejected</c>, <c>WrongNetwork</c>; at most <see cref="PacketCodec.MaxTextLength"/> characters). Peers that
    /// do not know the field ignore it. See docs/protocol.md.
    /// </summary>
    public string? Refusal { get; set; }
}
