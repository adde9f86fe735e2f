using P2PNet.Core;

namespace P2PNet.Discovery;

/// <summary>
/// A discovery mechanism: announces this node and reports peers it hears of through
/// <see cref="PeerDiscovered"/>. It knows nothing of channels; the peer network decides what to dial.
/// Start and stop may be called at any time and in any order; disposal stops it for good.
/// </summary>
public interface IPeerDiscovery : IAsyncDisposable
{
    /// <summary>The mechanism's name (<see cref="DiscoverySources"/>).</summary>
    string Source { get; }

    /// <summary>True while started.</summary>
    bool IsRunning { get; }

    /// <summary>Raised for every valid announcement of another peer (may repeat; not of ourselves).</summary>
    event EventHandler<DiscoveredPeer>? PeerDiscovered;

    /// <summary>
    /// Starts announcing <paramref name="localPeer"/> at the addresses <paramref name="listenAddresses"/> returns
    /// (asked at each announcement, so new listeners are picked up) and listening for others.
    /// </summary>
    /// <exception cref="DiscoveryException">No usable interface, or a socket could not be opened.</exception>
    Task StartAsync(PeerId localPeer, Func<IReadOnlyList<Multiaddr>> listenAddresses, CancellationToken cancellationToken = default);

    /// <summary>Stops announcing and listening; <see cref="StartAsync"/> may be called again.</summary>
    Task StopAsync(CancellationToken cancellationToken = default);
}
