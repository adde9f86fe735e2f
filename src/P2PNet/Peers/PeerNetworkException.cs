using P2PNet.Core;

namespace P2PNet.Peers;

/// <summary>Why a peer-layer operation was refused.</summary>
public enum PeerNetworkError
{
    /// <summary>The peer's identifier or IP address is blocked.</summary>
    Blocked,
    /// <summary>A channel with that identifier already exists or is being opened.</summary>
    Duplicate,
    /// <summary>The peer is ourselves.</summary>
    Self,
    /// <summary>The peer belongs to another network name.</summary>
    WrongNetwork,
    /// <summary>The trust protocol rejected the peer or failed.</summary>
    TrustRejected,
    /// <summary>The peer has no address we can dial.</summary>
    NoAddress,
    /// <summary>The network is not running.</summary>
    Stopped,
    /// <summary>The remote (its application, its inbound queue or its decision timeout) rejected the channel.</summary>
    Rejected,

    /// <summary>
    /// A packet was never acknowledged by the peer: the channel closed (retries exhausted, resume window expired, closed)
    /// or the peer lost the session (it restarted). It may or may not have been delivered.
    /// </summary>
    NotAcknowledged,

    /// <summary>
    /// The peer is reachable only through a relay (a limited connection), <see cref="PeerNetworkOptions.AllowLimitedConnections"/>
    /// is off, and no direct connection came within the dial timeout.
    /// </summary>
    LimitedConnection,
}

/// <summary>A peer-layer operation was refused; <see cref="Error"/> says why.</summary>
public sealed class PeerNetworkException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public PeerNetworkException(PeerNetworkError error, string message, Exception? inner = null) : base(message, inner) => Error = error;

    /// <summary>Why.</summary>
    public PeerNetworkError Error { get; }
}
