using System.Net;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Peers;

/// <summary>
/// Serves the <see cref="IncomingPeerTrustPolicy"/> block lists through the host's connection gater: a blocked IP is
/// closed at accept (no handshake), a blocked identifier is refused right after the handshake with the reason
/// <see cref="RefusalReason.Blocked"/> (the dialer is told), and dials to either are refused locally.
/// </summary>
internal sealed class BlockListGater(IncomingPeerTrustPolicy policy, Action<PeerId?, Multiaddr, string> refused) : IConnectionGater
{
    public bool InterceptDial(PeerId? peer, Multiaddr address) => !policy.IsBlocked(peer) && !policy.IsBlocked(IpOf(address));

    public bool InterceptAccept(Multiaddr localAddress, Multiaddr remoteAddress)
    {
        if (!policy.IsBlocked(IpOf(remoteAddress))) return true;
        refused(null, remoteAddress, "blocked IP address");
        return false;
    }

    public ConnectionRefusal? InterceptSecured(ConnectionDirection direction, PeerId peer, Multiaddr localAddress, Multiaddr remoteAddress)
    {
        string? reason = policy.IsBlocked(peer) ? "blocked identifier" : policy.IsBlocked(IpOf(remoteAddress)) ? "blocked IP address" : null;
        if (reason is null) return null;
        if (direction == ConnectionDirection.Inbound) refused(peer, remoteAddress, reason);
        return new ConnectionRefusal(RefusalReason.Blocked, reason);
    }

    private static IPAddress? IpOf(Multiaddr address) => address.ToIPEndPoint()?.Address;
}
