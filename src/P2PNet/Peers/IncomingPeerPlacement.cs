namespace P2PNet.Peers;

/// <summary>Where an incoming peer goes for the application to decide on it.</summary>
public enum IncomingPeerPlacement
{
    /// <summary>
    /// Raised through <see cref="PeerNetwork.IncomingPeerConnectionAttempt"/>; accepted unless a handler
    /// rejects it.
    /// </summary>
    EventBased,

    /// <summary>
    /// Enqueued in <see cref="PeerNetwork.InboundConnectingPeersQueue"/>; the application dequeues it and
    /// accepts or rejects it (rejected when not decided in time).
    /// </summary>
    QueueBased,

    /// <summary>Raised through the event (which may reject it), then enqueued for the decision.</summary>
    Both,
}
