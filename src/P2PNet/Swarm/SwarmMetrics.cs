using System.Diagnostics.Metrics;

namespace P2PNet.Swarm;

/// <summary>Instruments of one host (meter <c>P2PNet.Swarm</c>), one meter per host instance.</summary>
internal sealed class SwarmMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _limitHits;
    private readonly Counter<long> _refused;
    private readonly UpDownCounter<long> _pendingHandshakes;
    private readonly UpDownCounter<long> _connections;
    private readonly UpDownCounter<long> _inboundStreams;

    public SwarmMetrics(IMeterFactory? factory)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _limitHits = _meter.CreateCounter<long>("p2pnet.swarm.limit.hits", "{hit}", "Connections or streams refused by a resource limit");
        _refused = _meter.CreateCounter<long>("p2pnet.swarm.connections.refused", "{connection}", "Connections refused by the gater or a limit");
        _pendingHandshakes = _meter.CreateUpDownCounter<long>("p2pnet.swarm.handshakes.pending", "{handshake}", "Inbound handshakes in progress");
        _connections = _meter.CreateUpDownCounter<long>("p2pnet.swarm.connections", "{connection}", "Open connections");
        _inboundStreams = _meter.CreateUpDownCounter<long>("p2pnet.swarm.streams.inbound", "{stream}", "Inbound streams being served");
    }

    public const string MeterName = "P2PNet.Swarm";

    public void LimitHit(string scope, string resource) =>
        _limitHits.Add(1, new KeyValuePair<string, object?>("scope", scope), new KeyValuePair<string, object?>("resource", resource));

    public void Refused(string stage, string reason) =>
        _refused.Add(1, new KeyValuePair<string, object?>("stage", stage), new KeyValuePair<string, object?>("reason", reason));

    public void PendingHandshakes(int delta) => _pendingHandshakes.Add(delta);

    public void Connections(int delta, ConnectionDirection direction) =>
        _connections.Add(delta, new KeyValuePair<string, object?>("direction", direction == ConnectionDirection.Inbound ? "inbound" : "outbound"));

    public void InboundStreams(int delta) => _inboundStreams.Add(delta);

    public void Dispose() => _meter.Dispose();
}
