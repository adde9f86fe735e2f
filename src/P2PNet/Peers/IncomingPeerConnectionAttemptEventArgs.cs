namespace P2PNet.Peers;

/// <summary>An incoming peer passed the blocked and duplicate checks; a handler may reject it.</summary>
public sealed class IncomingPeerConnectionAttemptEventArgs : EventArgs
{
    internal IncomingPeerConnectionAttemptEventArgs(IPeer peer) => Peer = peer;

    /// <summary>The peer.</summary>
    public IPeer Peer { get; }

    /// <summary>True once a handler rejected it.</summary>
    public bool IsRejected => RejectionReason is not null;

    /// <summary>Why it was rejected.</summary>
    public string? RejectionReason { get; private set; }

    /// <summary>Rejects the peer: its connection is closed.</summary>
    public void Reject(string? reason = null) => RejectionReason = reason ?? "rejected by an IncomingPeerConnectionAttempt handler";
}
