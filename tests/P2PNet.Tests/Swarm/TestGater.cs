using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Tests.Swarm;

/// <summary>A gater made of delegates (each allows when null) that counts its calls.</summary>
internal sealed class TestGater : IConnectionGater
{
    public Func<PeerId?, Multiaddr, bool>? Dial { get; init; }
    public Func<Multiaddr, bool>? Accept { get; init; }
    public Func<ConnectionDirection, PeerId, ConnectionRefusal?>? Secured { get; init; }

    public int DialCalls;
    public int AcceptCalls;
    public int SecuredCalls;

    public bool InterceptDial(PeerId? peer, Multiaddr address)
    {
        Interlocked.Increment(ref DialCalls);
        return Dial?.Invoke(peer, address) ?? true;
    }

    public bool InterceptAccept(Multiaddr localAddress, Multiaddr remoteAddress)
    {
        Interlocked.Increment(ref AcceptCalls);
        return Accept?.Invoke(remoteAddress) ?? true;
    }

    public ConnectionRefusal? InterceptSecured(ConnectionDirection direction, PeerId peer, Multiaddr localAddress, Multiaddr remoteAddress)
    {
        Interlocked.Increment(ref SecuredCalls);
        return Secured?.Invoke(direction, peer);
    }
}
