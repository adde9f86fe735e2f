using P2PNet.Peers.Packets;

namespace P2PNet.Peers;

/// <summary>
/// Packets queued on a channel that the peer never acknowledged, reported once each, oldest first: the channel closed
/// for good with them outstanding (retries exhausted, resume window expired, closed, network stopping) or the peer lost
/// the session (it restarted). A packet written before the loss may still have been delivered (its acknowledgement
/// was lost); a packet still in the send queue was never written.
/// </summary>
public sealed class PacketsLostEventArgs : EventArgs
{
    internal PacketsLostEventArgs(PeerChannel channel, IReadOnlyList<NetworkPacket> packets, string reason)
    {
        Channel = channel;
        Packets = packets;
        Reason = reason;
    }

    /// <summary>The channel they were queued on.</summary>
    public PeerChannel Channel { get; }

    /// <summary>The packets, oldest first.</summary>
    public IReadOnlyList<NetworkPacket> Packets { get; }

    /// <summary>Why they were not acknowledged.</summary>
    public string Reason { get; }
}
