using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>
/// Decides, at each step of a connection's life, whether it may go on (go-libp2p's core/connmgr ConnectionGater).
/// Calls are synchronous and on the connection path: keep them fast and never block. Compose several with
/// <see cref="CompositeConnectionGater"/>.
/// </summary>
public interface IConnectionGater
{
    /// <summary>
    /// Before dialing <paramref name="address"/> (with <paramref name="peer"/> when known). False refuses the dial
    /// locally with <see cref="ConnectionRefusedException"/> (<see cref="RefusalReason.Blocked"/>).
    /// </summary>
    bool InterceptDial(PeerId? peer, Multiaddr address);

    /// <summary>
    /// Right after a transport accepted a connection, before any handshake byte is read. False closes it at
    /// once: the remote sees the connection closed and costs us no handshake.
    /// </summary>
    bool InterceptAccept(Multiaddr localAddress, Multiaddr remoteAddress);

    /// <summary>
    /// Once the remote is authenticated (security handshake and muxer negotiated, before any stream). A refusal
    /// closes the connection; on an inbound connection the dialer is told the reason first.
    /// </summary>
    /// <returns>Null to allow; otherwise why the peer is refused.</returns>
    ConnectionRefusal? InterceptSecured(ConnectionDirection direction, PeerId peer, Multiaddr localAddress, Multiaddr remoteAddress);
}
