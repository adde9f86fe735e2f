using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Protocols.Dcutr;

/// <summary>
/// DCUtR on a <see cref="SwarmHost"/> (libp2p/specs relay/DCUtR.md). Creating it registers the
/// <c>/libp2p/dcutr</c> handler (it runs on limited connections) and watches every relayed connection:
/// <list type="bullet">
/// <item>on one we accepted (we are B, the peer behind the relay) it opens the stream: CONNECT with our public
/// addresses, the peer's CONNECT back (timing the relay round trip), SYNC, then after half that round trip it dials
/// the peer's addresses from our listen port; up to <see cref="DcutrOptions.MaxAttempts"/> attempts;</item>
/// <item>on one we dialed (we are A) it answers: CONNECT with our addresses, and on SYNC dials at once.</item>
/// </list>
/// Both sockets of the resulting TCP simultaneous open are outbound; as the spec says, A runs the protocols on top
/// as the client (Noise initiator, multistream dialer) and B as the server. Our addresses are those our current
/// peers observe (the relay's observation included, confirmed or not) and our listen addresses, public ones only
/// (<see cref="DcutrOptions.PublicCidrs"/> adds ranges). Each relayed connection ends in exactly one
/// <see cref="DirectConnectionEstablished"/> or <see cref="HolePunchFailed"/>, on both sides.
/// </summary>
public sealed class DcutrService : IAsyncDisposable
{
    /// <summary>The meter of DCUtR (attempts, upgrades, failures, time to direct), for OpenTelemetry's <c>AddMeter</c>.</summary>
    public const string MeterName = "P2PNet.Dcutr";

    private const string Initiator = "initiator";
    private const string Responder = "responder";
    private const string NoAddresses = "neither side has a public address";
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(100);
    // After our own dials failed, the peer's SYN may still be coming up as a connection we accepted.
    private static readonly TimeSpan AcceptGrace = TimeSpan.FromSeconds(1);

    private readonly SwarmHost _host;
    private readonly DcutrOptions _options;
    private readonly AddressScope _scope;
    private readonly ILogger _logger;
    private readonly DcutrMetrics _metrics;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Connection, Session> _sessions = new();
    private readonly ConcurrentDictionary<Task, byte> _tasks = new();
    private int _disposed;

    /// <summary>Registers the DCUtR handler on <paramref name="host"/> and starts watching its relayed connections.</summary>
    public DcutrService(SwarmHost host, DcutrOptions? options = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        _host = host ?? throw new ArgumentNullException(nameof(host));
        _options = options ?? DcutrOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxAddresses, 1);
        _scope = new AddressScope(_options.PublicCidrs);
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<DcutrService>();
        _metrics = new DcutrMetrics(meterFactory);
        host.SetStreamHandler(DcutrProtocol.Id, ServeAsync, runOnLimitedConnection: true);
        host.ConnectionOpened += OnConnectionOpened;
    }

    /// <summary>Raised once per relayed connection whose peer we now reach directly.</summary>
    public event EventHandler<DirectConnectionEventArgs>? DirectConnectionEstablished;

    /// <summary>Raised once per relayed connection whose hole punching gave up (the relay stays).</summary>
    public event EventHandler<HolePunchFailedEventArgs>? HolePunchFailed;

    /// <summary>True when <paramref name="connection"/> runs through a relay (a <c>/p2p-circuit</c> connection).</summary>
    public static bool IsRelayed(Connection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection.Info.IsLimited || connection.RemoteAddress.IsCircuit;
    }

    private Connection? Direct(PeerId peer) => _host.FindConnection(peer) is { } c && !IsRelayed(c) ? c : null;

    private void OnConnectionOpened(object? sender, Connection connection)
    {
        if (Volatile.Read(ref _disposed) != 0 || !IsRelayed(connection)) return;
        var session = _sessions.GetOrAdd(connection, NewSession);
        _ = connection.Completion.ContinueWith(static (_, s) =>
        {
            var (sessions, c) = ((ConcurrentDictionary<Connection, Session>, Connection))s!;
            sessions.TryRemove(c, out Session? _);
        }, (_sessions, connection), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        // The peer that accepted the relayed connection (B) starts; the dialer (A) answers and watches.
        Track(connection.Direction == ConnectionDirection.Inbound ? InitiateAsync(session) : WatchAsync(session));
    }

    // ------------------------------------------------------------------ B: the initiator

    private async Task InitiateAsync(Session session)
    {
        await Task.Yield();
        var ct = _stopping.Token;
        var peer = session.Relayed.RemotePeerId;
        string reason = "no attempt made";
        try
        {
            for (int attempt = 1; attempt <= _options.MaxAttempts; attempt++)
            {
                if (Direct(peer) is { } existing)
                {
                    Succeed(session, existing, Initiator);
                    return;
                }
                if (!session.Relayed.IsOpen)
                {
                    reason = "the relayed connection closed";
                    break;
                }
                session.Attempts = attempt;
                _metrics.Attempt(Initiator);
                try
                {
                    var (direct, why) = await InitiatorAttemptAsync(session, attempt, ct).ConfigureAwait(false);
                    if (direct is not null)
                    {
                        Succeed(session, direct, Initiator);
                        return;
                    }
                    reason = why;
                    // No address on either side: another round would find none either.
                    if (why == NoAddresses) break;
                }
                catch (Exception ex) when (ex is P2PNetException or IOException or ObjectDisposedException or TimeoutException && !ct.IsCancellationRequested)
                {
                    reason = ex.Message;
                }
                DcutrLog.AttemptFailed(_logger, attempt, peer, reason);
                if (attempt < _options.MaxAttempts) await Task.Delay(_options.RetryDelay, ct).ConfigureAwait(false);
            }
            Fail(session, reason, Initiator);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task<(Connection? Direct, string Reason)> InitiatorAttemptAsync(Session session, int attempt, CancellationToken ct)
    {
        var relayed = session.Relayed;
        var peer = relayed.RemotePeerId;
        var timeline = session.Timeline;
        timeline.Mark($"attempt {attempt}");
        // One look at the interfaces per attempt (a wildcard listener's addresses are read from every NIC).
        var listen = _host.ListenAddresses;
        var own = await OwnAddressesAsync(listen, timeline, ct).ConfigureAwait(false);
        var stream = await relayed.OpenStreamAsync(DcutrProtocol.Id, ct).ConfigureAwait(false);
        timeline.Mark("stream open");
        await using (stream.ConfigureAwait(false))
        {
            List<Multiaddr> theirs;
            TimeSpan rtt;
            try
            {
                await DcutrProtocol.WriteAsync(stream, new HolePunchMessage(HolePunchType.Connect, own), ct).ConfigureAwait(false);
                long sent = Stopwatch.GetTimestamp();
                timeline.Mark("CONNECT sent");
                var answer = await DcutrProtocol.ReadAsync(stream, _options.StreamTimeout, ct).ConfigureAwait(false);
                rtt = Stopwatch.GetElapsedTime(sent);
                timeline.Mark("CONNECT received");
                if (answer.Type != HolePunchType.Connect)
                    throw new DcutrException(DcutrError.UnexpectedMessage, $"{peer} answered CONNECT with {Name(answer.Type)}");
                theirs = Dialable(answer.ObsAddrs, listen);
                await DcutrProtocol.WriteAsync(stream, new HolePunchMessage(HolePunchType.Sync, []), ct).ConfigureAwait(false);
                timeline.Mark("SYNC sent");
                await stream.CloseWriteAsync(ct).ConfigureAwait(false);
            }
            catch
            {
                stream.Reset();
                throw;
            }
            if (theirs.Count == 0 && own.Count == 0) return (null, NoAddresses);
            DcutrLog.Attempting(_logger, attempt, peer, Initiator, theirs.Count, Math.Round(rtt.TotalMilliseconds, 3));
            // The peer dials when SYNC arrives, half a round trip from now: dial then, so that the SYNs cross.
            await Task.Delay(rtt / 2, ct).ConfigureAwait(false);
            // The stream stays open until the dials are done, so the SYNC is not cut short by a reset.
            return await DialAllAsync(peer, theirs, asClient: false, timeline, ct).ConfigureAwait(false);
        }
    }

    // ------------------------------------------------------------------ A: the responder

    private async Task ServeAsync(MuxedStream stream, Connection connection, CancellationToken ct)
    {
        var peer = connection.RemotePeerId;
        if (!IsRelayed(connection) || connection.Direction != ConnectionDirection.Outbound)
        {
            DcutrLog.StreamRefused(_logger, peer, "DCUtR is started by the peer that accepted a relayed connection");
            stream.Reset();
            return;
        }
        var session = _sessions.GetOrAdd(connection, NewSession);
        if (Volatile.Read(ref session.Done) != 0 || session.Attempts >= _options.MaxAttempts || Interlocked.Exchange(ref session.Busy, 1) != 0)
        {
            DcutrLog.StreamRefused(_logger, peer, session.Attempts >= _options.MaxAttempts ? $"more than {_options.MaxAttempts} attempts" : "an attempt is running or the upgrade is decided");
            stream.Reset();
            return;
        }
        int attempt = ++session.Attempts;
        _metrics.Attempt(Responder);
        var timeline = session.Timeline;
        timeline.Mark($"attempt {attempt}: stream accepted");
        try
        {
            var connect = await DcutrProtocol.ReadAsync(stream, _options.StreamTimeout, ct).ConfigureAwait(false);
            timeline.Mark("CONNECT received");
            if (connect.Type != HolePunchType.Connect)
                throw new DcutrException(DcutrError.UnexpectedMessage, $"{peer} opened with {Name(connect.Type)}, not CONNECT");
            // Read when the relayed connection opened (WatchAsync), off the path from CONNECT to CONNECT.
            var listen = session.Listen ?? _host.ListenAddresses;
            var theirs = Dialable(connect.ObsAddrs, listen);
            var own = await OwnAddressesAsync(listen, timeline, ct).ConfigureAwait(false);
            // B's SYN may reach our listener before our own dial leaves: that connection is ours as the client too.
            using var expected = _host.ExpectHolePunch(peer, [.. theirs.Select(a => a.ToIPEndPoint()!)]);
            await DcutrProtocol.WriteAsync(stream, new HolePunchMessage(HolePunchType.Connect, own), ct).ConfigureAwait(false);
            timeline.Mark("CONNECT sent");
            var sync = await DcutrProtocol.ReadAsync(stream, _options.StreamTimeout, ct).ConfigureAwait(false);
            timeline.Mark("SYNC received");
            if (sync.Type != HolePunchType.Sync)
                throw new DcutrException(DcutrError.UnexpectedMessage, $"{peer} sent {Name(sync.Type)} where SYNC belongs");
            if (theirs.Count == 0 && own.Count == 0)
            {
                // B gives up too (another round would find no address either).
                session.LastReason = NoAddresses;
                Fail(session, NoAddresses, Responder);
                return;
            }
            DcutrLog.Attempting(_logger, attempt, peer, Responder, theirs.Count, 0);
            var (direct, reason) = await DialAllAsync(peer, theirs, asClient: true, timeline, ct).ConfigureAwait(false);
            if (direct is not null)
            {
                Succeed(session, direct, Responder);
                return;
            }
            session.LastReason = reason;
            DcutrLog.AttemptFailed(_logger, attempt, peer, reason);
        }
        catch (DcutrException ex)
        {
            // A bad or slow peer loses this stream; the relayed connection and the node carry on.
            DcutrLog.StreamRefused(_logger, peer, ex.Message);
            session.LastReason = ex.Message;
            stream.Reset();
        }
        finally
        {
            session.Deadline = Stopwatch.GetTimestamp() + (long)(_options.PeerStartTimeout.TotalSeconds * Stopwatch.Frequency);
            Volatile.Write(ref session.Busy, 0);
        }
        if (session.Attempts >= _options.MaxAttempts) Fail(session, session.LastReason ?? "no direct connection", Responder);
    }

    // A's view: the outcome comes from B's attempts; this decides when B has stopped making them.
    private async Task WatchAsync(Session session)
    {
        await Task.Yield();
        // Our listen addresses for the CONNECT we answer with, read now rather than once B's CONNECT is here.
        session.Listen ??= _host.ListenAddresses;
        var ct = _stopping.Token;
        var peer = session.Relayed.RemotePeerId;
        try
        {
            using var timer = new PeriodicTimer(WatchInterval);
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                if (Volatile.Read(ref session.Done) != 0) return;
                if (Volatile.Read(ref session.Busy) != 0) continue;
                if (Direct(peer) is { } direct)
                {
                    Succeed(session, direct, Responder);
                    return;
                }
                if (!session.Relayed.IsOpen)
                {
                    Fail(session, "the relayed connection closed", Responder);
                    return;
                }
                if (Stopwatch.GetTimestamp() > session.Deadline)
                {
                    Fail(session, session.Attempts == 0
                        ? $"{peer} started no hole punch within {_options.PeerStartTimeout.TotalSeconds:0.#} s"
                        : $"{peer} stopped after {session.Attempts} attempt(s): {session.LastReason}", Responder);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    // ------------------------------------------------------------------ both

    // Dials every address at once; the first direct connection wins, whether our dial made it or the peer's SYN
    // reached our listener. Bounded by AttemptTimeout.
    private async Task<(Connection? Direct, string Reason)> DialAllAsync(PeerId peer, List<Multiaddr> addresses, bool asClient, Timeline timeline, CancellationToken ct)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(_options.AttemptTimeout);
        var appeared = new TaskCompletionSource<Connection>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnOpened(object? sender, Connection c)
        {
            if (c.RemotePeerId == peer && !IsRelayed(c) && appeared.TrySetResult(c)) timeline.Mark("direct connection up");
        }
        _host.ConnectionOpened += OnOpened;
        var dials = new List<Task<Connection>>();
        try
        {
            if (Direct(peer) is { } live) return (live, "");
            timeline.Mark($"dialing {addresses.Count}");
            foreach (var address in addresses) dials.Add(_host.DialHolePunchAsync(address, peer, asClient, attempt.Token, timeline.Mark));
            var expiry = Task.Delay(Timeout.Infinite, attempt.Token);
            string reason = addresses.Count == 0 ? "no public address of the peer to dial" : "";
            var pending = new List<Task>(dials);
            while (pending.Count > 0)
            {
                var done = await Task.WhenAny([.. pending, appeared.Task, expiry]).ConfigureAwait(false);
                if (done == appeared.Task) return (await appeared.Task.ConfigureAwait(false), "");
                if (done == expiry) break;
                pending.Remove(done);
                var dial = (Task<Connection>)done;
                if (dial.IsCompletedSuccessfully) return (await dial.ConfigureAwait(false), "");
                reason = dial.Exception?.InnerException?.Message ?? "the dial was cancelled";
            }
            if (!expiry.IsCompleted)
            {
                using var grace = CancellationTokenSource.CreateLinkedTokenSource(attempt.Token);
                grace.CancelAfter(AcceptGrace);
                var wait = Task.Delay(Timeout.Infinite, grace.Token);
                if (await Task.WhenAny(appeared.Task, wait).ConfigureAwait(false) == appeared.Task) return (await appeared.Task.ConfigureAwait(false), "");
            }
            ct.ThrowIfCancellationRequested();
            return (null, reason.Length > 0 ? reason : $"no direct connection within {_options.AttemptTimeout.TotalSeconds:0.#} s");
        }
        finally
        {
            _host.ConnectionOpened -= OnOpened;
            await attempt.CancelAsync().ConfigureAwait(false);
            // Every dial is ours to finish: the losers are cancelled and observed here.
            await Task.WhenAll(dials).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    // The peer's addresses worth a hole punch: public TCP ones (no relayed ones), ours excluded, capped.
    private List<Multiaddr> Dialable(IReadOnlyList<Multiaddr> addresses, IReadOnlyList<Multiaddr> listen)
    {
        var own = listen.Select(a => a.ToIPEndPoint()).Where(e => e is not null).ToHashSet();
        return [.. addresses.Select(_scope.PublicTcpEndPoint).Where(e => e is not null && !own.Contains(e)).Distinct()
            .Take(_options.MaxAddresses).Select(e => Multiaddr.FromEndPoint(e!))];
    }

    // Ours to send: observed (by any current peer, confirmed or not) and listen addresses, public only. (The host's
    // other addresses are the confirmed observed ones, among the candidates, and announced circuit addresses, never
    // dialable TCP.)
    private List<Multiaddr> OwnPublicAddresses(IReadOnlyList<Multiaddr> listen) =>
        [.. _host.ObservedAddressCandidates.Select(o => o.Address).Concat(listen)
            .Select(_scope.PublicTcpEndPoint).Where(e => e is not null).Distinct().Take(_options.MaxAddresses).Select(e => Multiaddr.FromEndPoint(e!))];

    // Our public addresses, waiting (up to AddressWait) for a first one: identify with the relay may still be under way
    // on a fresh connection. Woken by each observation the host records, not by a timer.
    private async Task<List<Multiaddr>> OwnAddressesAsync(IReadOnlyList<Multiaddr> listen, Timeline timeline, CancellationToken ct)
    {
        var own = OwnPublicAddresses(listen);
        if (own.Count > 0) return own;
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnRecorded(object? sender, EventArgs e) => Volatile.Read(ref signal).TrySetResult();
        _host.ObservedAddressRecorded += OnRecorded;
        try
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(_options.AddressWait);
            while (true)
            {
                // A fresh signal before each look, so that an observation recorded in between is not missed.
                var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref signal, next);
                if ((own = OwnPublicAddresses(listen)).Count > 0) break;
                try
                {
                    await next.Task.WaitAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    break; // AddressWait passed: the CONNECT goes without
                }
            }
            timeline.Mark($"own addresses ({own.Count})");
            return own;
        }
        finally
        {
            _host.ObservedAddressRecorded -= OnRecorded;
        }
    }

    private void Succeed(Session session, Connection direct, string role)
    {
        if (Interlocked.Exchange(ref session.Done, 1) != 0) return;
        var elapsed = Stopwatch.GetElapsedTime(session.Started);
        int attempts = Math.Max(session.Attempts, 1);
        _metrics.Upgraded(role, attempts, elapsed);
        DcutrLog.Upgraded(_logger, direct.RemotePeerId, direct.RemoteAddress, attempts, Math.Round(elapsed.TotalMilliseconds, 1));
        if (_logger.IsEnabled(LogLevel.Debug)) DcutrLog.Timeline(_logger, direct.RemotePeerId, role, session.Timeline.ToString());
        try
        {
            DirectConnectionEstablished?.Invoke(this, new DirectConnectionEventArgs(direct.RemotePeerId, direct, session.Relayed, attempts, elapsed));
        }
        catch (Exception ex)
        {
            DcutrLog.HandlerFailed(_logger, nameof(DirectConnectionEstablished), ex.Message);
        }
    }

    private void Fail(Session session, string reason, string role)
    {
        if (Interlocked.Exchange(ref session.Done, 1) != 0) return;
        _metrics.Failed(role, session.Relayed.IsOpen ? (session.Attempts == 0 ? "not_started" : "attempts_failed") : "relay_closed");
        DcutrLog.Failed(_logger, session.Relayed.RemotePeerId, session.Attempts, reason);
        if (_logger.IsEnabled(LogLevel.Debug)) DcutrLog.Timeline(_logger, session.Relayed.RemotePeerId, role, session.Timeline.ToString());
        try
        {
            HolePunchFailed?.Invoke(this, new HolePunchFailedEventArgs(session.Relayed.RemotePeerId, session.Relayed, reason, session.Attempts));
        }
        catch (Exception ex)
        {
            DcutrLog.HandlerFailed(_logger, nameof(HolePunchFailed), ex.Message);
        }
    }

    private void Track(Task task)
    {
        _tasks.TryAdd(task, 0);
        _ = task.ContinueWith(static (t, s) => ((ConcurrentDictionary<Task, byte>)s!).TryRemove(t, out _),
            _tasks, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _host.ConnectionOpened -= OnConnectionOpened;
        _host.RemoveStreamHandler(DcutrProtocol.Id);
        await _stopping.CancelAsync().ConfigureAwait(false);
        while (!_tasks.IsEmpty) await Task.WhenAll(_tasks.Keys).ConfigureAwait(false);
        _stopping.Dispose();
        _metrics.Dispose();
    }

    private static string Name(HolePunchType type) => type == HolePunchType.Connect ? "CONNECT" : "SYNC";

    private Session NewSession(Connection relayed) => new(relayed, (long)(_options.PeerStartTimeout.TotalSeconds * Stopwatch.Frequency));

    private sealed class Session(Connection relayed, long startAllowance)
    {
        public Connection Relayed { get; } = relayed;
        public long Started { get; } = Stopwatch.GetTimestamp();
        public Timeline Timeline { get; } = new();
        public IReadOnlyList<Multiaddr>? Listen;
        public int Attempts;
        public int Busy;
        public int Done;
        public long Deadline = Stopwatch.GetTimestamp() + startAllowance;
        public string? LastReason;
    }

    /// <summary>
    /// Where the time of one relayed connection's upgrade goes: steps marked with their time since the relayed
    /// connection opened, logged at debug with the outcome (event 7500). Bounded: steps beyond 64 are dropped.
    /// </summary>
    private sealed class Timeline
    {
        private const int MaxSteps = 64;
        private readonly long _start = Stopwatch.GetTimestamp();
        private readonly List<(string Step, double Ms)> _steps = [];

        public void Mark(string step)
        {
            double ms = Stopwatch.GetElapsedTime(_start).TotalMilliseconds;
            lock (_steps)
            {
                if (_steps.Count < MaxSteps) _steps.Add((step, ms));
            }
        }

        public override string ToString()
        {
            lock (_steps) return string.Join("; ", _steps.Select(s => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{s.Step} +{s.Ms:0.0}")));
        }
    }
}
