using P2PNet.Peers.Packets;

namespace P2PNet.Peers;

/// <summary>A PureMessage arrived (raised by the default pure-message handler).</summary>
public sealed class PureMessageReceivedEventArgs : EventArgs
{
    internal PureMessageReceivedEventArgs(PeerChannel channel, PureMessagePacket packet)
    {
        Channel = channel;
        Packet = packet;
    }

    /// <summary>The channel it came on.</summary>
    public PeerChannel Channel { get; }

    /// <summary>The sender's identifier.</summary>
    public P2PNet.Core.PeerId Sender => Channel.Identifier;

    /// <summary>The text (the string is made on first read: see <see cref="PureMessagePacket.Message"/>).</summary>
    public string Message => Packet.Message;

    /// <summary>The text as the UTF-8 bytes received, without making a string.</summary>
    public ReadOnlyMemory<byte> Utf8 => Packet.Utf8;

    /// <summary>The packet.</summary>
    public PureMessagePacket Packet { get; }
}
