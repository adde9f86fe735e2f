namespace P2PNet.Swarm;

/// <summary>
/// Why a node refused a peer after the secure handshake; sent to the refused dialer as a code (the enum value),
/// so the values are part of the wire format and never renumbered. Unknown codes from newer peers are kept as is.
/// </summary>
public enum RefusalReason
{
    /// <summary>The PeerId, address or network is blocked.</summary>
    Blocked = 1,
    /// <summary>The nodes are already connected (for example, a simultaneous dial).</summary>
    Duplicate = 2,
    /// <summary>The application declined the peer.</summary>
    Rejected = 3,
    /// <summary>The peer belongs to another network.</summary>
    WrongNetwork = 4,
    /// <summary>A resource limit (connections, streams, memory) was hit.</summary>
    ResourceLimit = 5,
}
