using System.Diagnostics.Metrics;

namespace P2PNet.Protocols.Relay;

/// <summary>Counters of circuit relay, both roles (meter <see cref="RelayService.MeterName"/>).</summary>
internal sealed class RelayMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _reservations;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _circuits;
    private readonly Counter<long> _ended;
    private readonly Counter<long> _bytes;

    public RelayMetrics(IMeterFactory? factory)
    {
        _meter = factory?.Create(RelayService.MeterName) ?? new Meter(RelayService.MeterName);
        _reservations = _meter.CreateCounter<long>("p2pnet.relay.reservations", "{reservation}", "Reservations granted or refreshed (relay) or obtained (client)");
        _refused = _meter.CreateCounter<long>("p2pnet.relay.requests_refused", "{request}", "Hop requests answered with a status other than OK, by status");
        _circuits = _meter.CreateCounter<long>("p2pnet.relay.circuits_opened", "{circuit}", "Circuits bridged by the relay or opened by the client");
        _ended = _meter.CreateCounter<long>("p2pnet.relay.circuits_ended", "{circuit}", "Circuits ended, by outcome");
        _bytes = _meter.CreateCounter<long>("p2pnet.relay.bytes_relayed", "By", "Bytes relayed through circuits (relay side)");
    }

    public void Reserved(string role) => _reservations.Add(1, new KeyValuePair<string, object?>("role", role));

    public void Refused(RelayStatus status) => _refused.Add(1, new KeyValuePair<string, object?>("status", status.ToString()));

    public void CircuitOpened(string role) => _circuits.Add(1, new KeyValuePair<string, object?>("role", role));

    public void CircuitEnded(string role, string outcome) =>
        _ended.Add(1, new KeyValuePair<string, object?>("role", role), new KeyValuePair<string, object?>("outcome", outcome));

    public void Relayed(long bytes) => _bytes.Add(bytes);

    public void Dispose() => _meter.Dispose();
}
