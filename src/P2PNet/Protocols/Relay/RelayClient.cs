using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Protocols.Relay;

/// <summary>
/// The client role of circuit relay v2 on a <see cref="SwarmHost"/>. Creating it adds the
/// <see cref="CircuitTransport"/> to the host (so <c>DialAsync(…/p2p/RELAY/p2p-circuit/p2p/TARGET)</c> works) and
/// registers the <c>/libp2p/circuit/relay/0.2.0/stop</c> handler. Reservations (<see cref="ReserveAsync"/>,
/// <see cref="AddRelayAsync"/>, or <see cref="RelayClientOptions.Relays"/> with <see cref="StartAsync"/>) make the
/// host listen on <c>/p2p-circuit</c> and add <c>RELAYADDR/p2p/RELAY/p2p-circuit</c> to
/// <see cref="SwarmHost.Addresses"/>; kept reservations are refreshed before they expire and renewed when the
/// relay connection drops. Relayed connections are limited when the relay announces a limit: only stream
/// handlers registered with <c>runOnLimitedConnection</c> serve on them.
/// </summary>
public sealed class RelayClient : IAsyncDisposable
{
    private const string AddressSource = "circuit-relay";
    private static readonly Multiaddr CircuitListenAddress = Multiaddr.Parse("/p2p-circuit");

    private readonly SwarmHost _host;
    private readonly RelayClientOptions _options;
    private readonly ILogger _logger;
    private readonly RelayMetrics _metrics;
    private readonly Lock _lock = new();
    private readonly Dictionary<PeerId, (RelayReservation Reservation, Connection Connection)> _reservations = [];
    private readonly SemaphoreSlim _listenGate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _loops = new();
    private readonly ConcurrentDictionary<CircuitStream, byte> _circuits = new();
    // The kept reservations' loops by relay, so that one can be released (auto-relay, when we turn out public).
    private readonly Dictionary<PeerId, CancellationTokenSource> _kept = [];
    private CircuitListener? _listener;
    private int _disposed;

    /// <summary>Adds the circuit transport and the stop handler to <paramref name="host"/>.</summary>
    public RelayClient(SwarmHost host, RelayClientOptions? options = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        _host = host ?? throw new ArgumentNullException(nameof(host));
        _options = options ?? RelayClientOptions.Default;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<RelayClient>();
        _metrics = new RelayMetrics(meterFactory);
        Transport = new CircuitTransport(this);
        host.AddTransport(Transport);
        host.SetStreamHandler(RelayProtocol.StopId, ServeStopAsync, runOnLimitedConnection: false);
    }

    /// <summary>The transport added to the host.</summary>
    public CircuitTransport Transport { get; }

    /// <summary>The reservations held now.</summary>
    public IReadOnlyList<RelayReservation> Reservations
    {
        get
        {
            lock (_lock) return [.. _reservations.Values.Select(r => r.Reservation)];
        }
    }

    /// <summary>Raised when a reservation was made, refreshed or lost.</summary>
    public event EventHandler? ReservationsChanged;

    /// <summary>Raised when a relayed connection's circuit ends, with the reason (a relay limit, a reset) if any.</summary>
    public event EventHandler<CircuitClosedEventArgs>? CircuitClosed;

    /// <summary>Makes the host listen on <c>/p2p-circuit</c> and keeps reservations on <see cref="RelayClientOptions.Relays"/>.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        await EnsureListeningAsync(cancellationToken).ConfigureAwait(false);
        foreach (var relay in _options.Relays) Keep(relay, null);
    }

    /// <summary>
    /// Reserves on <paramref name="relay"/> (<c>ADDR/p2p/RELAY</c>) and keeps the reservation from then on:
    /// refreshed before it expires, renewed (with retries) when the relay connection drops.
    /// </summary>
    /// <exception cref="RelayException">The first reservation failed (refused, bad answer or voucher).</exception>
    public async Task<RelayReservation> AddRelayAsync(Multiaddr relay, CancellationToken cancellationToken = default)
    {
        var reservation = await ReserveAsync(relay, cancellationToken).ConfigureAwait(false);
        Keep(relay, reservation);
        return reservation;
    }

    /// <summary>
    /// Reserves a slot on <paramref name="relay"/> (<c>ADDR/p2p/RELAY</c>, or <c>/p2p/RELAY</c> for a peer the
    /// host can dial) once, and announces the circuit address; it is not refreshed (see <see cref="AddRelayAsync"/>).
    /// </summary>
    /// <exception cref="RelayException">Refused (see <see cref="RelayException.Status"/>), Malformed, Timeout, BadVoucher, BadAddress.</exception>
    public async Task<RelayReservation> ReserveAsync(Multiaddr relay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (relay.IsCircuit || relay.PeerId is not { } relayPeer)
            throw new RelayException(RelayError.BadAddress, $"{relay} is not a relay address ADDR/p2p/RELAY");
        await EnsureListeningAsync(cancellationToken).ConfigureAwait(false);
        var connection = await DialRelayAsync(relay, relayPeer, cancellationToken).ConfigureAwait(false);
        var stream = await connection.OpenStreamAsync(RelayProtocol.HopId, cancellationToken).ConfigureAwait(false);
        HopMessage answer;
        await using (stream.ConfigureAwait(false))
        {
            await RelayProtocol.WriteAsync(stream, new HopMessage(HopMessageType.Reserve), cancellationToken).ConfigureAwait(false);
            answer = await RelayProtocol.ReadHopAsync(stream, _options.StreamTimeout, cancellationToken).ConfigureAwait(false);
            await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
        }
        if (answer.Type != HopMessageType.Status)
            throw new RelayException(RelayError.UnexpectedMessage, $"relay {relayPeer} answered a reservation with {answer.Type}");
        if (answer.Status != RelayStatus.Ok)
            throw new RelayException(RelayError.Refused, $"relay {relayPeer} refused the reservation: {answer.Status?.ToString() ?? "no status"}", answer.Status);
        if (answer.Reservation is not { } rsvp)
            throw new RelayException(RelayError.Malformed, $"relay {relayPeer} accepted the reservation but sent none");
        var expires = DateTimeOffset.FromUnixTimeSeconds((long)Math.Min(rsvp.Expire, (ulong)DateTimeOffset.MaxValue.ToUnixTimeSeconds()));
        if (expires <= DateTimeOffset.UtcNow)
            throw new RelayException(RelayError.Malformed, $"relay {relayPeer} sent a reservation that expired at {expires:u}");
        RelayVoucher? voucher = null;
        if (rsvp.Voucher is { } envelope)
        {
            voucher = RelayVoucher.Open(envelope);
            if (voucher.Relay != relayPeer || voucher.Peer != _host.LocalPeerId)
                throw new RelayException(RelayError.BadVoucher, $"relay {relayPeer} sent a voucher for {voucher.Peer} on {voucher.Relay}");
        }
        var reservation = new RelayReservation(relay.WithPeerId(relayPeer), relayPeer, expires,
            [.. rsvp.Addrs.Where(a => a.PeerId == relayPeer && !a.IsCircuit)], voucher, answer.Limit);
        lock (_lock) _reservations[relayPeer] = (reservation, connection);
        _metrics.Reserved("client");
        RelayLog.ClientReserved(_logger, reservation.Relay, expires);
        PublishAddresses();
        return reservation;
    }

    private async Task<Connection> DialRelayAsync(Multiaddr relay, PeerId relayPeer, CancellationToken ct)
    {
        var connection = relay.Components.Count > 1
            ? await _host.DialAsync(relay, ct).ConfigureAwait(false)
            : await _host.DialAsync(relayPeer, ct).ConfigureAwait(false);
        if (connection.Info.IsLimited)
            throw new RelayException(RelayError.BadAddress, $"relay {relayPeer} is reachable only through another relay");
        return connection;
    }

    /// <summary>
    /// Stops keeping the reservation on <paramref name="relay"/> (added with <see cref="AddRelayAsync"/>): it is no longer
    /// refreshed, and its circuit addresses leave <see cref="SwarmHost.Addresses"/> at once (circuit relay v2 has no
    /// cancel message: the relay lets it expire). Circuits already open stay. False when it was not kept.
    /// </summary>
    public async Task<bool> RemoveRelayAsync(PeerId relay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(relay);
        CancellationTokenSource? kept;
        lock (_lock)
        {
            if (!_kept.Remove(relay, out kept)) return false;
        }
        await kept.CancelAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        Drop(relay, "released");
        return true;
    }

    /// <summary>The relays whose reservations are kept (by <see cref="AddRelayAsync"/> or <see cref="RelayClientOptions.Relays"/>).</summary>
    public IReadOnlyList<PeerId> KeptRelays
    {
        get
        {
            lock (_lock) return [.. _kept.Keys];
        }
    }

    private void Keep(Multiaddr relay, RelayReservation? first)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        if (relay.PeerId is { } relayPeer)
        {
            CancellationTokenSource? previous;
            lock (_lock)
            {
                _kept.Remove(relayPeer, out previous);
                _kept[relayPeer] = stop;
            }
            previous?.Cancel(); // kept again: one loop per relay
        }
        var loop = MaintainAsync(relay, first, stop.Token);
        _loops.TryAdd(loop, 0);
        _ = loop.ContinueWith((t, s) =>
        {
            ((ConcurrentDictionary<Task, byte>)s!).TryRemove(t, out _);
            if (relay.PeerId is { } peer)
            {
                lock (_lock)
                {
                    if (_kept.TryGetValue(peer, out var current) && ReferenceEquals(current, stop)) _kept.Remove(peer);
                }
            }
            stop.Dispose();
        }, _loops, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task MaintainAsync(Multiaddr relay, RelayReservation? current, CancellationToken ct)
    {
        await Task.Yield();
        var delay = _options.RetryDelay;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    current ??= await ReserveAsync(relay, ct).ConfigureAwait(false);
                    delay = _options.RetryDelay;
                    Connection? connection;
                    lock (_lock) connection = _reservations.TryGetValue(current.RelayPeer, out var held) ? held.Connection : null;
                    var left = current.Expires - DateTimeOffset.UtcNow;
                    var wait = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, (long)(left.Ticks * _options.RefreshAt)));
                    using (var refresh = CancellationTokenSource.CreateLinkedTokenSource(ct))
                    {
                        var timer = Task.Delay(wait, refresh.Token);
                        var closed = connection?.Completion ?? Task.CompletedTask;
                        var first = await Task.WhenAny(timer, closed).ConfigureAwait(false);
                        await refresh.CancelAsync().ConfigureAwait(false);
                        ct.ThrowIfCancellationRequested();
                        if (first == closed) Drop(current.RelayPeer, "the connection to the relay closed");
                    }
                    current = null;
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    RelayLog.ClientReserveFailed(_logger, relay, ex.Message);
                    if (current is not null || !StillHeld(relay)) Drop(relay.PeerId!, ex.Message);
                    current = null;
                    await Task.Delay(delay, ct).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
                }
            }
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            // Stopping: whatever the last attempt met on the way out (the host disposed under it, say) is moot.
        }
    }

    // A failed refresh leaves a reservation that has not expired and whose connection lives.
    private bool StillHeld(Multiaddr relay)
    {
        lock (_lock)
            return relay.PeerId is { } peer && _reservations.TryGetValue(peer, out var held)
                && held.Connection.IsOpen && held.Reservation.Expires > DateTimeOffset.UtcNow;
    }

    private void Drop(PeerId relayPeer, string reason)
    {
        RelayReservation? dropped;
        lock (_lock) dropped = _reservations.Remove(relayPeer, out var held) ? held.Reservation : null;
        if (dropped is null) return;
        RelayLog.ClientReservationLost(_logger, dropped.Relay, reason);
        PublishAddresses();
    }

    private void PublishAddresses()
    {
        List<Multiaddr> addresses = [];
        foreach (var r in Reservations)
        {
            if (r.Relay.Components.Count > 1) addresses.Add(r.CircuitAddress);
            else addresses.AddRange(r.RelayAddresses.Select(a => a.Encapsulate(new MultiaddrComponent(MultiaddrProtocol.P2pCircuit, ""))));
        }
        _host.SetAnnouncedAddresses(AddressSource, [.. addresses.Distinct()]);
        try
        {
            ReservationsChanged?.Invoke(this, EventArgs.Empty);
        }
        catch (Exception ex)
        {
            RelayLog.ClientReserveFailed(_logger, CircuitListenAddress, $"a ReservationsChanged handler threw: {ex.Message}");
        }
    }

    private async Task EnsureListeningAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _listener) is not null) return;
        await _listenGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_listener is null) await _host.ListenAsync(CircuitListenAddress, ct).ConfigureAwait(false);
        }
        finally
        {
            _listenGate.Release();
        }
    }

    internal CircuitListener Listen(Multiaddr address)
    {
        if (!address.Equals(CircuitListenAddress)) throw new ArgumentException($"the circuit transport listens on /p2p-circuit only, not {address}", nameof(address));
        var listener = new CircuitListener(address, _options.MaxPendingCircuits, l => Interlocked.CompareExchange(ref _listener, null, l));
        if (Interlocked.CompareExchange(ref _listener, listener, null) is not null)
            throw new InvalidOperationException("the host already listens on /p2p-circuit");
        return listener;
    }

    internal async Task<TransportConnection> DialCircuitAsync(Multiaddr address, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (address.SplitCircuit() is not ({ } relayAddress, { } target) || relayAddress.IsCircuit || relayAddress.PeerId is not { } relayPeer)
            throw new RelayException(RelayError.BadAddress, $"{address} is not a circuit address ADDR/p2p/RELAY/p2p-circuit/p2p/TARGET");
        var relayConnection = await DialRelayAsync(relayAddress, relayPeer, ct).ConfigureAwait(false);
        var hop = await relayConnection.OpenStreamAsync(RelayProtocol.HopId, ct).ConfigureAwait(false);
        HopMessage answer;
        try
        {
            await RelayProtocol.WriteAsync(hop, new HopMessage(HopMessageType.Connect) { Peer = new RelayPeer(target, []) }, ct).ConfigureAwait(false);
            answer = await RelayProtocol.ReadHopAsync(hop, _options.StreamTimeout, ct).ConfigureAwait(false);
            if (answer.Type != HopMessageType.Status)
                throw new RelayException(RelayError.UnexpectedMessage, $"relay {relayPeer} answered a connect with {answer.Type}");
            if (answer.Status != RelayStatus.Ok)
                throw new RelayException(RelayError.Refused, $"relay {relayPeer} refused the circuit to {target}: {answer.Status?.ToString() ?? "no status"}", answer.Status);
        }
        catch
        {
            hop.Reset();
            await hop.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var circuit = new CircuitStream(hop, answer.Limit, relayPeer, target, OnCircuitClosed);
        _circuits.TryAdd(circuit, 0);
        _metrics.CircuitOpened("client");
        var local = relayAddress.Encapsulate(new MultiaddrComponent(MultiaddrProtocol.P2pCircuit, ""));
        return new TransportConnection(circuit, local, local) { Transport = CircuitTransport.Name, IsLimited = answer.Limit is { IsUnlimited: false } };
    }

    private async Task ServeStopAsync(MuxedStream stream, Connection connection, CancellationToken ct)
    {
        var relay = connection.RemotePeerId;
        StopMessage request;
        try
        {
            request = await RelayProtocol.ReadStopAsync(stream, _options.StreamTimeout, ct).ConfigureAwait(false);
        }
        catch (RelayException ex)
        {
            RelayLog.StopRefused(_logger, relay, ex.Message);
            await AnswerAsync(stream, ex.Error == RelayError.Timeout ? null : RelayStatus.MalformedMessage, ct).ConfigureAwait(false);
            return;
        }
        string? refusal = request.Type != StopMessageType.Connect ? $"a stop {request.Type} is not a request"
            : request.Peer is null ? "a stop connect without a peer"
            : Volatile.Read(ref _listener) is null ? "not listening on /p2p-circuit"
            : null;
        if (refusal is not null)
        {
            RelayLog.StopRefused(_logger, relay, refusal);
            await AnswerAsync(stream, request.Type != StopMessageType.Connect ? RelayStatus.UnexpectedMessage
                : request.Peer is null ? RelayStatus.MalformedMessage : RelayStatus.ConnectionFailed, ct).ConfigureAwait(false);
            return;
        }
        var listener = Volatile.Read(ref _listener)!;
        var circuit = new CircuitStream(stream, request.Limit, relay, request.Peer!.Id, OnCircuitClosed);
        var local = connection.RemoteAddress.WithPeerId(relay).Encapsulate(new MultiaddrComponent(MultiaddrProtocol.P2pCircuit, ""));
        var raw = new TransportConnection(circuit, local, local) { Transport = CircuitTransport.Name, IsLimited = request.Limit is { IsUnlimited: false } };
        await RelayProtocol.WriteAsync(stream, new StopMessage(StopMessageType.Status) { Status = RelayStatus.Ok }, ct).ConfigureAwait(false);
        if (!listener.TryEnqueue(raw))
        {
            RelayLog.StopRefused(_logger, relay, $"more than {_options.MaxPendingCircuits} circuits wait for the host");
            stream.Reset();
            return;
        }
        _circuits.TryAdd(circuit, 0);
        _metrics.CircuitOpened("client");
        try
        {
            // The stream is the relayed connection's transport: hold it until that connection is done with it.
            await circuit.Completion.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private static async Task AnswerAsync(MuxedStream stream, RelayStatus? status, CancellationToken ct)
    {
        if (status is { } s)
        {
            try
            {
                await RelayProtocol.WriteAsync(stream, new StopMessage(StopMessageType.Status) { Status = s }, ct).ConfigureAwait(false);
                await stream.CloseWriteAsync(ct).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is IOException or RelayException)
            {
            }
        }
        stream.Reset();
    }

    private void OnCircuitClosed(CircuitStream circuit, RelayException? error)
    {
        _circuits.TryRemove(circuit, out _);
        _metrics.CircuitEnded("client", error?.Error.ToString() ?? "Closed");
        RelayLog.CircuitClosed(_logger, circuit.Remote, circuit.Relay, error?.Message ?? "closed");
        try
        {
            CircuitClosed?.Invoke(this, new CircuitClosedEventArgs(circuit.Remote, circuit.Relay, error));
        }
        catch (Exception ex)
        {
            RelayLog.StopRefused(_logger, circuit.Relay, $"a CircuitClosed handler threw: {ex.Message}");
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        while (!_loops.IsEmpty) await Task.WhenAll(_loops.Keys).ConfigureAwait(false);
        _host.RemoveStreamHandler(RelayProtocol.StopId);
        lock (_lock) _reservations.Clear();
        _host.SetAnnouncedAddresses(AddressSource, []);
        _stopping.Dispose();
        _listenGate.Dispose();
        _metrics.Dispose();
    }
}
