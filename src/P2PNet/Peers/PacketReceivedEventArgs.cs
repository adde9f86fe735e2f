using P2PNet.Peers.Packets;

namespace P2PNet.Peers;

/// <summary>A packet that passed the trust policy.</summary>
public sealed class PacketReceivedEventArgs : EventArgs
{
    private string? _json;

    internal PacketReceivedEventArgs(PeerChannel channel, NetworkPacket packet)
    {
        Channel = channel;
        Packet = packet;
    }

    /// <summary>The channel it came on.</summary>
    public PeerChannel Channel { get; }

    /// <summary>The packet.</summary>
    public NetworkPacket Packet { get; }

    /// <summary>Its type.</summary>
    public PacketType Type => Packet.Type;

    /// <summary>Its JSON form (made on first use).</summary>
    public string Json => _json ??= PacketCodec.ToJson(Packet);
}
