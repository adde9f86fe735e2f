using System.Diagnostics.Metrics;

namespace P2PNet.Protocols.Transfer;

/// <summary>Counters of one transfer service (meter <c>P2PNet.Transfer</c>).</summary>
internal sealed class TransferMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _served;
    private readonly Counter<long> _fetched;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _dropped;

    public TransferMetrics(IMeterFactory? factory)
    {
        _meter = factory?.Create("P2PNet.Transfer") ?? new Meter("P2PNet.Transfer");
        _served = _meter.CreateCounter<long>("p2pnet.transfer.groups_served", "{group}", "16 KiB groups sent to fetchers");
        _fetched = _meter.CreateCounter<long>("p2pnet.transfer.bytes_fetched", "By", "Verified bytes written by fetches");
        _refused = _meter.CreateCounter<long>("p2pnet.transfer.requests_refused", "{request}", "Requests answered with a status other than Ok, or reset");
        _dropped = _meter.CreateCounter<long>("p2pnet.transfer.providers_dropped", "{provider}", "Providers dropped from a fetch");
    }

    public void Served(long groups) => _served.Add(groups);

    public void Fetched(long bytes) => _fetched.Add(bytes);

    public void Refused(string status) => _refused.Add(1, new KeyValuePair<string, object?>("status", status));

    public void Dropped() => _dropped.Add(1);

    public void Dispose() => _meter.Dispose();
}
