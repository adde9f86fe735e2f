using System.Diagnostics;
using System.Diagnostics.Metrics;
using P2PNet.Core;
using P2PNet.Upgrade;

namespace P2PNet.Swarm;

/// <summary>
/// Instruments of one <see cref="SwarmHost"/> (meter <c>P2PNet.Swarm</c>, see <see cref="P2PNetTelemetry"/>):
/// gauges read the host's tables when observed, so they cost nothing between collections; dials and
/// handshakes are timed by <see cref="Operation"/> scopes that also carry their trace span.
/// </summary>
internal sealed class SwarmMetrics : IDisposable
{
    private const string DirectionTag = "p2pnet.connection.direction";
    private readonly Meter _meter;
    private readonly Histogram<double> _dialDuration;
    private readonly Histogram<double> _handshakeDuration;
    private readonly Counter<long> _limitHits;
    private readonly Counter<long> _refused;
    private readonly UpDownCounter<long> _inboundStreams;
    private readonly bool _ownsMeter;
    private int _pendingHandshakes;

    public SwarmMetrics(SwarmHost host, IMeterFactory? factory)
    {
        // A factory's meters are shared and owned by the factory (it caches them by name): dispose only our own.
        _ownsMeter = factory is null;
        _meter = factory?.Create(SwarmHost.MeterName) ?? new Meter(SwarmHost.MeterName);
        _limitHits = _meter.CreateCounter<long>("p2pnet.swarm.limit.hits", "{hit}", "Connections or streams refused by a resource limit");
        _refused = _meter.CreateCounter<long>("p2pnet.swarm.connections.refused", "{connection}", "Connections refused by the gater or a limit");
        _inboundStreams = _meter.CreateUpDownCounter<long>("p2pnet.swarm.streams.inbound", "{stream}", "Inbound streams being served");
        _meter.CreateObservableUpDownCounter("p2pnet.connection.count", () => CountConnections(host), "{connection}",
            "Open connections, by direction");
        _meter.CreateObservableUpDownCounter("p2pnet.stream.count", () => host.Connections.Sum(c => c.StreamCount), "{stream}",
            "Open muxed streams over all connections");
        _meter.CreateObservableUpDownCounter("p2pnet.swarm.buffered.bytes", () => host.Resources.BufferedBytes, "By",
            "Bytes received on streams and not yet read by the application (limited by ResourceLimits.MaxBufferedBytes)");
        _meter.CreateObservableUpDownCounter("p2pnet.handshake.pending", () => Volatile.Read(ref _pendingHandshakes), "{handshake}",
            "Connection upgrades (Noise, yamux) in progress");
        _dialDuration = _meter.CreateHistogram("p2pnet.dial.duration", "s",
            "Time to dial and upgrade an outbound connection", advice: DurationAdvice);
        _handshakeDuration = _meter.CreateHistogram("p2pnet.handshake.duration", "s",
            "Time of a connection upgrade (multistream-select, Noise XX, yamux)", advice: DurationAdvice);
    }

    private static InstrumentAdvice<double> DurationAdvice { get; } = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    /// <summary>Times a dial (transport connect plus upgrade) under a <c>p2pnet.dial</c> span.</summary>
    public Operation StartDial(Multiaddr address)
    {
        var activity = P2PNetTelemetry.Source.StartActivity("p2pnet.dial", ActivityKind.Client);
        activity?.SetTag("p2pnet.peer.address", address.ToString());
        return new Operation(_dialDuration, activity, default, null);
    }

    /// <summary>Times an upgrade under a <c>p2pnet.handshake</c> span and counts it as pending until it ends.</summary>
    public Operation StartHandshake(ConnectionDirection direction)
    {
        var activity = P2PNetTelemetry.Source.StartActivity("p2pnet.handshake",
            direction == ConnectionDirection.Outbound ? ActivityKind.Client : ActivityKind.Server);
        var tag = new KeyValuePair<string, object?>(DirectionTag, direction == ConnectionDirection.Outbound ? "outbound" : "inbound");
        activity?.SetTag(tag.Key, tag.Value);
        Interlocked.Increment(ref _pendingHandshakes);
        return new Operation(_handshakeDuration, activity, tag, this);
    }

    /// <summary>Runs a dial (transport connect plus upgrade) as one timed <see cref="StartDial"/> operation.</summary>
    public async Task<Connection> TimeDialAsync(Multiaddr address, Func<Task<Connection>> dial)
    {
        using var operation = StartDial(address);
        try
        {
            var connection = await dial().ConfigureAwait(false);
            operation.Complete(remote: connection.RemotePeerId);
            return connection;
        }
        catch (Exception ex)
        {
            operation.Complete(ex);
            throw;
        }
    }

    /// <summary>Runs an upgrade as one timed <see cref="StartHandshake"/> operation, counted as pending meanwhile.</summary>
    public async Task<UpgradedConnection> TimeHandshakeAsync(ConnectionDirection direction, Func<Task<UpgradedConnection>> upgrade)
    {
        using var operation = StartHandshake(direction);
        try
        {
            var upgraded = await upgrade().ConfigureAwait(false);
            operation.Complete(remote: upgraded.RemotePeerId);
            return upgraded;
        }
        catch (Exception ex)
        {
            operation.Complete(ex);
            throw;
        }
    }

    private static IEnumerable<Measurement<int>> CountConnections(SwarmHost host)
    {
        int inbound = 0, outbound = 0;
        foreach (var c in host.Connections)
        {
            if (c.Direction == ConnectionDirection.Inbound) inbound++;
            else outbound++;
        }
        return
        [
            new Measurement<int>(inbound, new KeyValuePair<string, object?>(DirectionTag, "inbound")),
            new Measurement<int>(outbound, new KeyValuePair<string, object?>(DirectionTag, "outbound")),
        ];
    }

    public void LimitHit(string scope, string resource) =>
        _limitHits.Add(1, new KeyValuePair<string, object?>("scope", scope), new KeyValuePair<string, object?>("resource", resource));

    public void Refused(string stage, string reason) =>
        _refused.Add(1, new KeyValuePair<string, object?>("stage", stage), new KeyValuePair<string, object?>("reason", reason));

    public void InboundStreams(int delta) => _inboundStreams.Add(delta);

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }

    /// <summary>One timed operation; <see cref="Complete"/> it with its outcome, then dispose it (a scope never completed counts as cancelled).</summary>
    internal sealed class Operation : IDisposable
    {
        private readonly Histogram<double> _histogram;
        private readonly Activity? _activity;
        private readonly KeyValuePair<string, object?> _tag;
        private readonly SwarmMetrics? _pending;
        private readonly long _started;
        private string? _error;
        private bool _completed;
        private int _disposed;

        internal Operation(Histogram<double> histogram, Activity? activity, KeyValuePair<string, object?> tag, SwarmMetrics? pending)
        {
            _histogram = histogram;
            _activity = activity;
            _tag = tag;
            _pending = pending;
            _started = Stopwatch.GetTimestamp();
        }

        /// <summary>Records the outcome: null for success, else the exception (its type becomes <c>error.type</c>).</summary>
        public void Complete(Exception? error = null, PeerId? remote = null)
        {
            _completed = true;
            _error = error switch
            {
                null => null,
                OperationCanceledException => "cancelled",
                _ => error.GetType().Name,
            };
            if (remote is not null) _activity?.SetTag("p2pnet.peer.id", remote.ToString());
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            string? error = _completed ? _error : "cancelled";
            double seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
            var errorTag = new KeyValuePair<string, object?>("error.type", error);
            if (_tag.Key is null)
            {
                if (error is null) _histogram.Record(seconds);
                else _histogram.Record(seconds, errorTag);
            }
            else if (error is null) _histogram.Record(seconds, _tag);
            else _histogram.Record(seconds, _tag, errorTag);
            if (_activity is not null)
            {
                if (error is not null)
                {
                    _activity.SetTag("error.type", error);
                    _activity.SetStatus(ActivityStatusCode.Error);
                }
                _activity.Dispose();
            }
            if (_pending is not null) Interlocked.Decrement(ref _pending._pendingHandshakes);
        }
    }
}
