using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace P2PNet.Tests.Support;

/// <summary>
/// An IMeterFactory whose meters only its test listens to, recording every measurement: give it to the node under test,
/// so that parallel tests do not mix.
/// </summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Name, double Value, Dictionary<string, object?> Tags)> _recorded = new();
    private readonly List<(string Name, double Value, Dictionary<string, object?> Tags)> _observed = [];
    private bool _observing;

    public TestMeterFactory()
    {
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == this) l.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        _listener.Start();
    }

    private readonly ConcurrentQueue<string> _meterNames = new();

    /// <summary>The names of the meters this factory made.</summary>
    public IReadOnlyCollection<string> MeterNames => _meterNames;

    public Meter Create(MeterOptions options)
    {
        _meterNames.Enqueue(options.Name);
        return new(options.Name, options.Version, options.Tags, scope: this);
    }

    public IReadOnlyList<(string Name, double Value, Dictionary<string, object?> Tags)> Recorded(string name) =>
        [.. _recorded.Where(r => r.Name == name)];

    /// <summary>Reads every observable instrument now.</summary>
    public IReadOnlyList<(string Name, double Value, Dictionary<string, object?> Tags)> Observe()
    {
        lock (_observed)
        {
            _observed.Clear();
            _observing = true;
            _listener.RecordObservableInstruments();
            _observing = false;
            return [.. _observed];
        }
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var entry = (instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value));
        if (instrument.IsObservable)
        {
            if (_observing) _observed.Add(entry);
        }
        else _recorded.Enqueue(entry);
    }

    public void Dispose() => _listener.Dispose();
}
