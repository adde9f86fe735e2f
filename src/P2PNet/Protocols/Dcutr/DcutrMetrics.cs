using System.Diagnostics.Metrics;

namespace P2PNet.Protocols.Dcutr;

/// <summary>Counters of DCUtR (meter <see cref="DcutrService.MeterName"/>), tagged by role (initiator = B, responder = A).</summary>
internal sealed class DcutrMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _upgrades;
    private readonly Counter<long> _failures;
    private readonly Histogram<double> _time;

    public DcutrMetrics(IMeterFactory? factory)
    {
        _meter = factory?.Create(DcutrService.MeterName) ?? new Meter(DcutrService.MeterName);
        _attempts = _meter.CreateCounter<long>("p2pnet.dcutr.attempts", "{attempt}", "Hole-punch attempts (CONNECT/SYNC exchanges followed by dials)");
        _upgrades = _meter.CreateCounter<long>("p2pnet.dcutr.upgrades", "{connection}", "Relayed connections upgraded to a direct one, by attempt that succeeded");
        _failures = _meter.CreateCounter<long>("p2pnet.dcutr.failures", "{connection}", "Relayed connections whose hole punching gave up, by reason");
        _time = _meter.CreateHistogram<double>("p2pnet.dcutr.time_to_direct", "ms", "Time from the relayed connection opening to the direct connection");
    }

    public void Attempt(string role) => _attempts.Add(1, new KeyValuePair<string, object?>("role", role));

    public void Upgraded(string role, int attempt, TimeSpan elapsed)
    {
        _upgrades.Add(1, new KeyValuePair<string, object?>("role", role), new KeyValuePair<string, object?>("attempt", attempt));
        _time.Record(elapsed.TotalMilliseconds, new KeyValuePair<string, object?>("role", role));
    }

    public void Failed(string role, string reason) =>
        _failures.Add(1, new KeyValuePair<string, object?>("role", role), new KeyValuePair<string, object?>("reason", reason));

    public void Dispose() => _meter.Dispose();
}
