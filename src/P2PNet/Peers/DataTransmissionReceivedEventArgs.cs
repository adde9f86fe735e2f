using P2PNet.Peers.Packets;

namespace P2PNet.Peers;

/// <summary>A DataTransmissionPacket arrived (raised by the default data-transmission handler).</summary>
public sealed class DataTransmissionReceivedEventArgs : EventArgs
{
    internal DataTransmissionReceivedEventArgs(PeerChannel channel, DataTransmissionPacket packet)
    {
        Channel = channel;
        Packet = packet;
    }

    /// <summary>The channel it came on.</summary>
    public PeerChannel Channel { get; }

    /// <summary>The packet, with its bytes in <see cref="DataTransmissionPacket.Data"/>.</summary>
    public DataTransmissionPacket Packet { get; }
}
