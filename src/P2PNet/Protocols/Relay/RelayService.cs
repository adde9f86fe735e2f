using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Protocols.Relay;

/// <summary>
/// The relay role of circuit relay v2 on a <see cref="SwarmHost"/>: serves <c>/libp2p/circuit/relay/0.2.0/hop</c>,
/// grants reservations (with expiry, refresh and a signed voucher, capped per IP and in total, rate-limited),
/// and bridges CONNECT requests to reserved peers over a <c>/stop</c> stream, within the duration and per-direction
/// data limits of <see cref="RelayServiceOptions"/>. Over a limit the circuit is reset on both sides. Hop requests
/// are not served on limited (relayed) connections. Creating it registers the handler; disposing removes it.
/// </summary>
public sealed class RelayService : IAsyncDisposable
{
    /// <summary>The meter of circuit relay (both roles), for OpenTelemetry's <c>AddMeter</c>.</summary>
    public const string MeterName = "P2PNet.Relay";

    private readonly SwarmHost _host;
    private readonly RelayServiceOptions _options;
    private readonly ILogger _logger;
    private readonly RelayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly RelayRateLimiter _reserveRate;
    private readonly RelayRateLimiter _connectRate;
    private readonly Lock _lock = new();
    private readonly Dictionary<PeerId, (DateTimeOffset Expires, string Ip)> _reservations = [];
    private readonly Dictionary<PeerId, int> _circuitsPerPeer = [];
    private int _circuits;
    private int _disposed;

    /// <summary>Registers the hop handler on <paramref name="host"/>.</summary>
    public RelayService(SwarmHost host, RelayServiceOptions? options = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : this(host, options, loggerFactory, meterFactory, TimeProvider.System)
    {
    }

    internal RelayService(SwarmHost host, RelayServiceOptions? options, ILoggerFactory? loggerFactory, IMeterFactory? meterFactory, TimeProvider time)
    {
        _host = host ?? throw new ArgumentNullException(nameof(host));
        _options = options ?? RelayServiceOptions.Default;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<RelayService>();
        _metrics = new RelayMetrics(meterFactory);
        _time = time;
        _reserveRate = new RelayRateLimiter(_options.MaxReservationRequestsPerMinutePerIp, time);
        _connectRate = new RelayRateLimiter(_options.MaxConnectRequestsPerMinutePerPeer, time);
        host.ConnectionClosed += OnConnectionClosed;
        host.SetStreamHandler(RelayProtocol.HopId, ServeHopAsync, runOnLimitedConnection: false);
    }

    /// <summary>The limits in force.</summary>
    public RelayServiceOptions Options => _options;

    /// <summary>Reservations held now (expired ones excluded).</summary>
    public int ReservationCount
    {
        get
        {
            var now = _time.GetUtcNow();
            lock (_lock) return _reservations.Count(r => r.Value.Expires > now);
        }
    }

    /// <summary>Circuits being relayed now.</summary>
    public int CircuitCount => Volatile.Read(ref _circuits);

    /// <summary>True when <paramref name="peer"/> holds an unexpired reservation.</summary>
    public bool HasReservation(PeerId peer)
    {
        lock (_lock) return _reservations.TryGetValue(peer, out var r) && r.Expires > _time.GetUtcNow();
    }

    private async Task ServeHopAsync(MuxedStream stream, Connection connection, CancellationToken ct)
    {
        HopMessage request;
        try
        {
            request = await RelayProtocol.ReadHopAsync(stream, _options.StreamTimeout, ct).ConfigureAwait(false);
        }
        catch (RelayException ex)
        {
            RelayLog.BadRequest(_logger, connection.RemotePeerId, ex.Message);
            await AnswerAsync(stream, connection, "request", ex.Error == RelayError.Timeout ? null : RelayStatus.MalformedMessage, ex.Message, ct).ConfigureAwait(false);
            return;
        }
        switch (request.Type)
        {
            case HopMessageType.Reserve:
                await ReserveAsync(stream, connection, ct).ConfigureAwait(false);
                break;
            case HopMessageType.Connect:
                await ConnectAsync(stream, connection, request, ct).ConfigureAwait(false);
                break;
            default:
                await AnswerAsync(stream, connection, "request", RelayStatus.UnexpectedMessage, $"a {request.Type} message is not a request", ct).ConfigureAwait(false);
                break;
        }
    }

    private async Task ReserveAsync(MuxedStream stream, Connection connection, CancellationToken ct)
    {
        var peer = connection.RemotePeerId;
        string ip = IpKey(connection.RemoteAddress);
        var now = _time.GetUtcNow();
        DateTimeOffset expires = DateTimeOffset.FromUnixTimeSeconds((now + _options.ReservationTtl).ToUnixTimeSeconds());
        string? refusal = null;
        RelayStatus status = RelayStatus.Ok;
        lock (_lock)
        {
            foreach (var stale in _reservations.Where(r => r.Value.Expires <= now).Select(r => r.Key).ToList()) _reservations.Remove(stale);
            bool refresh = _reservations.ContainsKey(peer);
            if (!_reserveRate.TryAcquire(ip))
                (status, refusal) = (RelayStatus.ResourceLimitExceeded, $"more than {_options.MaxReservationRequestsPerMinutePerIp} reservation requests per minute from {ip}");
            else if (!refresh && _reservations.Count >= _options.MaxReservations)
                (status, refusal) = (RelayStatus.ResourceLimitExceeded, $"the relay holds its maximum of {_options.MaxReservations} reservations");
            else if (!refresh && _reservations.Count(r => r.Value.Ip == ip) >= _options.MaxReservationsPerIp)
                (status, refusal) = (RelayStatus.ResourceLimitExceeded, $"{ip} holds its maximum of {_options.MaxReservationsPerIp} reservations");
            else
                _reservations[peer] = (expires, ip);
        }
        if (refusal is not null)
        {
            await AnswerAsync(stream, connection, "reservation", status, refusal, ct).ConfigureAwait(false);
            return;
        }
        var self = _host.LocalPeerId;
        Multiaddr[] addrs = [.. _host.Addresses.Where(a => !a.IsCircuit).Select(a => a.WithPeerId(self))];
        byte[] voucher = new RelayVoucher(self, peer, expires).Seal(_host.Identity);
        var answer = new HopMessage(HopMessageType.Status)
        {
            Status = RelayStatus.Ok,
            Reservation = new ReservationMessage((ulong)expires.ToUnixTimeSeconds(), addrs, voucher),
            Limit = _options.Limit,
        };
        await RelayProtocol.WriteAsync(stream, answer, ct).ConfigureAwait(false);
        await stream.CloseWriteAsync(ct).ConfigureAwait(false);
        _metrics.Reserved("relay");
        RelayLog.Reserved(_logger, peer, expires);
    }

    private async Task ConnectAsync(MuxedStream stream, Connection connection, HopMessage request, CancellationToken ct)
    {
        var source = connection.RemotePeerId;
        if (request.Peer is not { } targetPeer)
        {
            await AnswerAsync(stream, connection, "connect", RelayStatus.MalformedMessage, "connect without a peer", ct).ConfigureAwait(false);
            return;
        }
        var target = targetPeer.Id;
        string? refusal = null;
        RelayStatus status = RelayStatus.Ok;
        lock (_lock)
        {
            if (!_connectRate.TryAcquire(source.ToString()))
                (status, refusal) = (RelayStatus.ResourceLimitExceeded, $"more than {_options.MaxConnectRequestsPerMinutePerPeer} connect requests per minute");
            else if (!_reservations.TryGetValue(target, out var r) || r.Expires <= _time.GetUtcNow())
                (status, refusal) = (RelayStatus.NoReservation, $"{target} has no reservation on this relay");
            else if (target == source)
                (status, refusal) = (RelayStatus.PermissionDenied, "a peer cannot connect to itself");
            else if (_circuits >= _options.MaxCircuits)
                (status, refusal) = (RelayStatus.ResourceLimitExceeded, $"the relay carries its maximum of {_options.MaxCircuits} circuits");
            else if (_circuitsPerPeer.GetValueOrDefault(source) >= _options.MaxCircuitsPerPeer || _circuitsPerPeer.GetValueOrDefault(target) >= _options.MaxCircuitsPerPeer)
                (status, refusal) = (RelayStatus.ResourceLimitExceeded, $"a peer of this circuit has its maximum of {_options.MaxCircuitsPerPeer} circuits");
            else
            {
                _circuits++;
                _circuitsPerPeer[source] = _circuitsPerPeer.GetValueOrDefault(source) + 1;
                _circuitsPerPeer[target] = _circuitsPerPeer.GetValueOrDefault(target) + 1;
            }
        }
        if (refusal is not null)
        {
            await AnswerAsync(stream, connection, "connect", status, refusal, ct).ConfigureAwait(false);
            return;
        }
        try
        {
            await BridgeAsync(stream, connection, target, ct).ConfigureAwait(false);
        }
        finally
        {
            lock (_lock)
            {
                _circuits--;
                Release(source);
                Release(target);
            }
        }
    }

    private void Release(PeerId peer)
    {
        int n = _circuitsPerPeer.GetValueOrDefault(peer) - 1;
        if (n <= 0) _circuitsPerPeer.Remove(peer);
        else _circuitsPerPeer[peer] = n;
    }

    private async Task BridgeAsync(MuxedStream hop, Connection connection, PeerId target, CancellationToken ct)
    {
        var source = connection.RemotePeerId;
        var limit = _options.Limit;
        if (_host.FindConnection(target) is not { Info.IsLimited: false } targetConnection)
        {
            await AnswerAsync(hop, connection, "connect", RelayStatus.ConnectionFailed, $"{target} is not connected to the relay", ct).ConfigureAwait(false);
            return;
        }
        MuxedStream stop;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_options.StreamTimeout);
            stop = await targetConnection.OpenStreamAsync(RelayProtocol.StopId, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            await AnswerAsync(hop, connection, "connect", RelayStatus.ConnectionFailed, $"{target} did not accept a stop stream: {ex.Message}", ct).ConfigureAwait(false);
            return;
        }
        await using (stop.ConfigureAwait(false))
        {
            string? failure = null;
            try
            {
                await RelayProtocol.WriteAsync(stop, new StopMessage(StopMessageType.Connect) { Peer = new RelayPeer(source, []), Limit = limit }, ct).ConfigureAwait(false);
                var answer = await RelayProtocol.ReadStopAsync(stop, _options.StreamTimeout, ct).ConfigureAwait(false);
                if (answer.Type != StopMessageType.Status || answer.Status != RelayStatus.Ok)
                    failure = $"{target} declined the circuit ({answer.Status?.ToString() ?? answer.Type.ToString()})";
            }
            catch (Exception ex) when (ex is RelayException or IOException)
            {
                failure = $"the stop handshake with {target} failed: {ex.Message}";
            }
            if (failure is not null)
            {
                stop.Reset();
                await AnswerAsync(hop, connection, "connect", RelayStatus.ConnectionFailed, failure, ct).ConfigureAwait(false);
                return;
            }
            await RelayProtocol.WriteAsync(hop, new HopMessage(HopMessageType.Status) { Status = RelayStatus.Ok, Limit = limit }, ct).ConfigureAwait(false);
            _metrics.CircuitOpened("relay");
            RelayLog.CircuitOpened(_logger, source, target, limit);
            var outcome = await CircuitBridge.RunAsync(hop, stop, limit, _options.BufferSize, _metrics.Relayed, ct).ConfigureAwait(false);
            string text = outcome switch
            {
                CircuitOutcome.DurationLimit => $"duration limit of {limit?.Duration?.TotalSeconds:0.#} s reached",
                CircuitOutcome.DataLimit => $"data limit of {limit?.Data} bytes reached",
                CircuitOutcome.Reset => "reset by an end",
                _ => "closed",
            };
            _metrics.CircuitEnded("relay", outcome.ToString());
            RelayLog.CircuitEnded(_logger, source, target, text);
        }
    }

    // Answers a request with a status (none when it never arrived: a timeout) and closes the stream.
    private async Task AnswerAsync(MuxedStream stream, Connection connection, string request, RelayStatus? status, string reason, CancellationToken ct)
    {
        if (status is { } s)
        {
            _metrics.Refused(s);
            RelayLog.Refused(_logger, request, connection.RemotePeerId, s, reason);
            try
            {
                await RelayProtocol.WriteAsync(stream, new HopMessage(HopMessageType.Status) { Status = s }, ct).ConfigureAwait(false);
                await stream.CloseWriteAsync(ct).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is IOException or RelayException)
            {
                // The requester went away; nothing more to tell it.
            }
        }
        stream.Reset();
    }

    // Reservations live as long as the reserving peer stays connected (spec: the relay may drop them at disconnect).
    private void OnConnectionClosed(object? sender, Connection connection)
    {
        if (_host.FindConnection(connection.RemotePeerId) is not null) return;
        lock (_lock) _reservations.Remove(connection.RemotePeerId);
    }

    private static string IpKey(Multiaddr address)
    {
        var ip = address.ToIPEndPoint()?.Address;
        if (ip is null) return address.ToString(); // memory transport: each address is its own "IP"
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        // IPv6 hosts get a /64 each, so that is the unit.
        if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            byte[] b = ip.GetAddressBytes();
            Array.Clear(b, 8, 8);
            ip = new IPAddress(b);
        }
        return ip.ToString();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return ValueTask.CompletedTask;
        _host.ConnectionClosed -= OnConnectionClosed;
        _host.RemoveStreamHandler(RelayProtocol.HopId);
        _metrics.Dispose();
        return ValueTask.CompletedTask;
    }
}
