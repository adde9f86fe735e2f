using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>Several gaters as one: every gater must allow; the first refusal wins.</summary>
public sealed class CompositeConnectionGater : IConnectionGater
{
    private readonly IConnectionGater[] _gaters;

    /// <summary>Combines <paramref name="gaters"/>, asked in order.</summary>
    public CompositeConnectionGater(params IEnumerable<IConnectionGater> gaters)
    {
        ArgumentNullException.ThrowIfNull(gaters);
        _gaters = [.. gaters];
    }

    /// <summary>The gaters, in order.</summary>
    public IReadOnlyList<IConnectionGater> Gaters => _gaters;

    /// <inheritdoc />
    public bool InterceptDial(PeerId? peer, Multiaddr address) => _gaters.All(g => g.InterceptDial(peer, address));

    /// <inheritdoc />
    public bool InterceptAccept(Multiaddr localAddress, Multiaddr remoteAddress) => _gaters.All(g => g.InterceptAccept(localAddress, remoteAddress));

    /// <inheritdoc />
    public ConnectionRefusal? InterceptSecured(ConnectionDirection direction, PeerId peer, Multiaddr localAddress, Multiaddr remoteAddress)
    {
        foreach (var gater in _gaters)
            if (gater.InterceptSecured(direction, peer, localAddress, remoteAddress) is { } refusal) return refusal;
        return null;
    }
}
