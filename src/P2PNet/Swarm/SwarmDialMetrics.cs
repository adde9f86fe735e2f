using System.Diagnostics.Metrics;

namespace P2PNet.Swarm;

/// <summary>
/// Counters of dialing and the peer store, on the host's meter <c>P2PNet.Swarm</c> made by the host's
/// <see cref="IMeterFactory"/> (as <see cref="SwarmMetrics"/>), so that a container's listeners see them and two hosts
/// report apart.
/// </summary>
internal sealed class SwarmDialMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _dials;
    private readonly Counter<long> _joined;
    private readonly Counter<long> _redundant;

    public SwarmDialMetrics(PeerStore store, Func<int> candidates, IMeterFactory? factory)
    {
        // A factory's meters are shared and owned by the factory (it caches them by name): dispose only our own.
        _ownsMeter = factory is null;
        _meter = factory?.Create(SwarmHost.MeterName) ?? new Meter(SwarmHost.MeterName);
        _dials = _meter.CreateCounter<long>("p2pnet.swarm.dials", "{dial}", "Dials by PeerId, by outcome (ok or the DialError)");
        _joined = _meter.CreateCounter<long>("p2pnet.swarm.dials.joined", "{dial}", "DialAsync calls that joined a dial already in flight");
        _redundant = _meter.CreateCounter<long>("p2pnet.swarm.connections.redundant_closed", "{connection}", "Duplicate connections closed after a simultaneous dial");
        _meter.CreateObservableGauge("p2pnet.peerstore.peers", () => store.Count, "{peer}", "Peers in the peer store");
        _meter.CreateObservableGauge("p2pnet.swarm.observed_addresses", candidates, "{address}", "Observed address candidates");
    }

    public void Dialed(DialError? error) => _dials.Add(1, new KeyValuePair<string, object?>("outcome", error?.ToString() ?? "ok"));

    public void Joined() => _joined.Add(1);

    public void RedundantClosed() => _redundant.Add(1);

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
