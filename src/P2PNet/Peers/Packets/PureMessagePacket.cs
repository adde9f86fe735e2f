using System.Text.Json.Serialization;

namespace P2PNet.Peers.Packets;

/// <summary>A plain text message.</summary>
public sealed class PureMessagePacket : NetworkPacket
{
    /// <summary>The longest message a channel sends or accepts, in characters.</summary>
    public const int MaxLength = PacketCodec.MaxMessageLength;

    /// <summary>Creates an empty message.</summary>
    public PureMessagePacket() { }

    /// <summary>Creates a packet carrying <paramref name="message"/>.</summary>
    public PureMessagePacket(string message) => Message = message;

    /// <inheritdoc />
    [JsonIgnore]
    public override PacketType Type => PacketType.PureMessage;

    /// <summary>The text (at most <see cref="MaxLength"/> characters).</summary>
    public string Message { get; set; } = "";
}
