namespace P2PNet.Swarm;

/// <summary>Why a dial failed, for a whole dial (<see cref="DialException.Error"/>) or one address of it.</summary>
public enum DialError
{
    /// <summary>The PeerId, or an address, is our own: refused before any socket was opened.</summary>
    Self,
    /// <summary>The peer store holds no dialable address for the peer.</summary>
    NoAddresses,
    /// <summary>The connection gater refused the peer or the address.</summary>
    Blocked,
    /// <summary>Every address was tried and each failed; see <see cref="DialException.Attempts"/>.</summary>
    AllAddressesFailed,
    /// <summary>The dial (or this address) ran out of time.</summary>
    Timeout,
    /// <summary>The remote refused the transport connection (nothing listening, or a reset).</summary>
    Refused,
    /// <summary>The remote could not be reached (no route, unreachable host, name not resolved).</summary>
    Unreachable,
    /// <summary>The secure handshake or muxer negotiation failed.</summary>
    HandshakeFailed,
    /// <summary>The remote proved another PeerId than the one dialed.</summary>
    PeerIdMismatch,
    /// <summary>No transport can dial the address.</summary>
    NoTransport,
    /// <summary>The host was disposed while dialing.</summary>
    HostClosed,
    /// <summary>Anything else; the inner exception says what.</summary>
    Other,
    /// <summary>Our own resource limits refused the connection (for example the connections per peer).</summary>
    ResourceLimit,
}
