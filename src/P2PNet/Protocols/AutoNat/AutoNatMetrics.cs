using System.Diagnostics.Metrics;

namespace P2PNet.Protocols.AutoNat;

/// <summary>Counters of one AutoNAT service (meter <c>P2PNet.AutoNat</c>).</summary>
internal sealed class AutoNatMetrics : IDisposable
{
    public const string MeterName = "P2PNet.AutoNat";
    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _checks;

    public AutoNatMetrics(IMeterFactory? factory, Func<Reachability> reachability)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _requests = _meter.CreateCounter<long>("p2pnet.autonat.requests", "{request}", "Dial requests served, by outcome");
        _checks = _meter.CreateCounter<long>("p2pnet.autonat.checks", "{check}", "Our own addresses tested with a server, by result");
        _meter.CreateObservableGauge("p2pnet.autonat.reachability", () => (int)reachability(), "{state}", "0 unknown, 1 public, 2 private");
    }

    /// <summary>A served request ended: rejected, refused, dial_error, dial_back_error, ok, bad_request.</summary>
    public void Served(string outcome) => _requests.Add(1, new KeyValuePair<string, object?>("p2pnet.autonat.outcome", outcome));

    /// <summary>A check of ours ended: public, private or failed.</summary>
    public void Checked(string result) => _checks.Add(1, new KeyValuePair<string, object?>("p2pnet.autonat.result", result));

    public void Dispose() => _meter.Dispose();
}
