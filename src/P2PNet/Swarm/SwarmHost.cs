using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Transports.Tcp;
using P2PNet.Upgrade;

namespace P2PNet.Swarm;

/// <summary>
/// A libp2p host: listens and dials over its transports (TCP by default), upgrades every connection (security
/// and muxer negotiated, Noise + yamux by default), gates and limits connections, keeps the connection table,
/// and routes inbound streams to the handler registered for their protocol id.
/// Several hosts can run side by side in one process; nothing here is static.
/// </summary>
public sealed partial class SwarmHost : IAsyncDisposable
{
    private volatile ITransport[] _transports;
    private readonly Upgrader _upgrader;
    private readonly SwarmMetrics _metrics;
    private readonly ResourceManager _resources;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ConcurrentDictionary<string, (StreamHandler Handler, bool OnLimited)> _handlers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Connection, byte> _connections = new();
    private readonly ConcurrentDictionary<Task, byte> _pending = new();
    private readonly List<(ITransportListener Listener, Task Loop)> _listeners = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationToken _stoppingToken;
    private int _disposed;

    /// <summary>Creates a host for <paramref name="identity"/>; call <see cref="ListenAsync"/> to accept connections.</summary>
    /// <param name="identity">The host's identity.</param>
    /// <param name="options">Settings; defaults when null.</param>
    /// <param name="loggerFactory">Loggers; nothing is logged when null.</param>
    /// <param name="meterFactory">Creates the <c>P2PNet.Swarm</c> meter; a plain meter when null.</param>
    public SwarmHost(Identity identity, SwarmOptions? options = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        Identity = identity ?? throw new ArgumentNullException(nameof(identity));
        Options = options ?? new SwarmOptions();
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<SwarmHost>();
        _transports = Options.Transports is { Count: > 0 } transports ? [.. transports] : [new TcpTransport(Options.Tcp)];
        _metrics = new SwarmMetrics(this, meterFactory);
        _resources = new ResourceManager(Options, _metrics, _logger);
        _upgrader = new Upgrader(identity, Options.SecurityTransports, Options.Muxers, Options.Upgrade, _loggerFactory);
        _gater = Options.Gater;
        _stoppingToken = _stopping.Token;
        PeerStore = new PeerStore(Options.PeerStore, identity.PeerId, _loggerFactory.CreateLogger<PeerStore>());
        _observed = new ObservedAddressBook(Options.ObservedAddressThreshold);
        _dialMetrics = new SwarmDialMetrics(PeerStore, () => _observed.Candidates().Count, meterFactory);
    }

    /// <summary>The meter of the libp2p host (connections, streams, handshakes, dials, limits), for OpenTelemetry's <c>AddMeter</c>.</summary>
    public const string MeterName = "P2PNet.Swarm";

    /// <summary>This host's identity.</summary>
    public Identity Identity { get; }

    /// <summary>This host's PeerId.</summary>
    public PeerId LocalPeerId => Identity.PeerId;

    /// <summary>The settings.</summary>
    public SwarmOptions Options { get; }

    /// <summary>The live connections (a closing one leaves at once).</summary>
    public IReadOnlyCollection<Connection> Connections => [.. _connections.Keys.Where(c => c.IsOpen)];

    /// <summary>The protocol ids that have a handler.</summary>
    public IReadOnlyCollection<string> Protocols => [.. _handlers.Keys];

    /// <summary>
    /// The addresses we listen on, without <c>/p2p/</c>. An unspecified address (0.0.0.0, ::) is listed as
    /// each matching interface address, so that the list can be handed to peers.
    /// </summary>
    public IReadOnlyList<Multiaddr> ListenAddresses
    {
        get
        {
            lock (_listeners)
                return [.. _listeners.Where(l => !l.Listener.ListenAddress.IsCircuit).SelectMany(l => Expand(l.Listener.ListenAddress)).Distinct()];
        }
    }

    /// <summary>Raised when a connection has been upgraded and is ready for streams.</summary>
    public event EventHandler<Connection>? ConnectionOpened;

    /// <summary>Raised when a connection has closed.</summary>
    public event EventHandler<Connection>? ConnectionClosed;

    /// <summary>
    /// Registers the handler for inbound streams of <paramref name="protocol"/> (replacing any earlier one). It
    /// does not run on limited (relayed) connections: a stream for it there is refused at negotiation.
    /// </summary>
    public void SetStreamHandler(string protocol, StreamHandler handler) => SetStreamHandler(protocol, handler, runOnLimitedConnection: false);

    /// <summary>
    /// Registers the handler for inbound streams of <paramref name="protocol"/> (replacing any earlier one);
    /// with <paramref name="runOnLimitedConnection"/> it also serves streams on limited (relayed) connections,
    /// which a relay may cut at its time or data limit (ping and identify opt in).
    /// </summary>
    public void SetStreamHandler(string protocol, StreamHandler handler, bool runOnLimitedConnection)
    {
        ArgumentException.ThrowIfNullOrEmpty(protocol);
        ArgumentNullException.ThrowIfNull(handler);
        bool added = _handlers.TryAdd(protocol, (handler, runOnLimitedConnection));
        if (!added) _handlers[protocol] = (handler, runOnLimitedConnection);
        else RaiseProtocolsChanged();
    }

    /// <summary>
    /// Adds a transport after construction, asked after the earlier ones whether it handles an address; for
    /// transports that need the host itself (the circuit relay transport).
    /// </summary>
    public void AddTransport(ITransport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        lock (_listeners) _transports = [.. _transports, transport];
    }

    /// <summary>Removes the handler of <paramref name="protocol"/>.</summary>
    public void RemoveStreamHandler(string protocol)
    {
        if (_handlers.TryRemove(protocol, out _)) RaiseProtocolsChanged();
    }

    internal ResourceManager Resources => _resources;

    internal bool HasHandler(string protocol) => _handlers.ContainsKey(protocol);

    // A limited connection serves only handlers that opted in.
    internal bool HasHandler(string protocol, bool limited) => _handlers.TryGetValue(protocol, out var h) && (!limited || h.OnLimited);

    internal StreamHandler? GetHandler(string protocol) => _handlers.TryGetValue(protocol, out var h) ? h.Handler : null;

    /// <summary>
    /// Starts listening on <paramref name="address"/> with the first transport that handles it (port 0 or
    /// <c>/memory/0</c> picks a free one) and returns the bound address.
    /// </summary>
    public async Task<Multiaddr> ListenAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var listener = await TransportFor(address).ListenAsync(address, cancellationToken).ConfigureAwait(false);
        lock (_listeners) _listeners.Add((listener, AcceptLoopAsync(listener)));
        SwarmLog.Listening(_logger, listener.ListenAddress);
        RaiseAddressesChanged();
        return listener.ListenAddress;
    }

    /// <summary>
    /// Dials <paramref name="address"/>. With a <c>/p2p/</c> component the remote must prove that PeerId,
    /// and an existing live connection to it, or a dial to it already in flight, is reused. Our own PeerId, or one of our own listen addresses
    /// without <c>/p2p/</c>, is refused locally with <see cref="DialException"/> (<see cref="DialError.Self"/>).
    /// </summary>
    /// <exception cref="DialException">
    /// The dial failed, typed as <see cref="DialAsync(PeerId, CancellationToken)"/> types it (Blocked, ResourceLimit,
    /// Refused, Unreachable, HandshakeFailed, PeerIdMismatch, NoTransport, Timeout, HostClosed...), with the failed
    /// address in <see cref="DialException.Attempts"/> and the underlying exception (a
    /// <see cref="ConnectionRefusedException"/>, a Noise or socket error) as the inner exception.
    /// </exception>
    /// <exception cref="OperationCanceledException">The caller's token was cancelled.</exception>
    public Task<Connection> DialAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        // The whole call is owned by the host (DisposeAsync awaits it), not only its transport dial and upgrade.
        var dial = DialAddressAsync(address, cancellationToken);
        Track(dial);
        return dial;
    }

    private async Task<Connection> DialAddressAsync(Multiaddr address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var expected = address.PeerId;
        ThrowIfSelf(address);
        try
        {
            if (expected is not null) return await DialAddressOfPeerAsync(address, expected, cancellationToken).ConfigureAwait(false);
            return Remember(await DialUncheckedAsync(address, expected, gated: false, cancellationToken).ConfigureAwait(false), address);
        }
        catch (Exception ex) when (ex is not DialException && !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // The same failure reads the same as from DialAsync(PeerId): a DialException with its DialError.
            var error = Classify(ex, timedOut: false);
            var peer = expected ?? (ex as ConnectionRefusedException)?.Peer;
            throw new DialException(error, peer, $"dialing {address} failed ({error}): {ex.Message}", [new DialAttempt(address, error, ex)], ex);
        }
    }

    // Transport dial and upgrade of one address, timed as one dial; no reuse, only the connection gater's dial check.
    // Tracked like inbound upgrades, so that DisposeAsync waits for every dial in flight.
    private Task<Connection> DialUncheckedAsync(Multiaddr address, PeerId? expected, bool gated, CancellationToken cancellationToken)
    {
        var dial = _metrics.TimeDialAsync(address, () => DialOnceAsync(address, expected, gated, cancellationToken));
        Track(dial);
        return dial;
    }

    private async Task<Connection> DialOnceAsync(Multiaddr address, PeerId? expected, bool gated, CancellationToken cancellationToken)
    {
        CheckDial(expected, address, gated);
        // The host stopping ends the dial too: DisposeAsync awaits it.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stoppingToken);
        var ct = linked.Token;
        TransportConnection raw;
        try
        {
            // A relayed address keeps its target: the circuit transport asks the relay for that peer.
            raw = await TransportFor(address).DialAsync(address.IsCircuit ? address : address.WithoutPeerId(), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoppedOnly(cancellationToken))
        {
            throw new ObjectDisposedException(nameof(SwarmHost), ex);
        }
        // Asked now: a failed upgrade disposes the socket.
        var reusedPort = !address.IsCircuit && TransportFor(address) is TcpTransport tcp && tcp.IsFromListenPort(raw) ? tcp : null;
        UpgradedConnection upgraded;
        try
        {
            upgraded = await _metrics.TimeHandshakeAsync(ConnectionDirection.Outbound, () => _upgrader.UpgradeOutboundAsync(raw, expected, ct)).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoppedOnly(cancellationToken))
        {
            throw new ObjectDisposedException(nameof(SwarmHost), ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && reusedPort is not null)
        {
            // Port reuse: our dial from the listen port and the peer's dial to us can meet as one TCP simultaneous open,
            // where both ends start Noise as the initiator. Once more from an ephemeral port, which cannot meet that way.
            SwarmLog.HandshakeFailed(_logger, address, ex.Message);
            try
            {
                raw = await reusedPort.DialFromEphemeralPortAsync(address.WithoutPeerId(), ct).ConfigureAwait(false);
                upgraded = await _metrics.TimeHandshakeAsync(ConnectionDirection.Outbound, () => _upgrader.UpgradeOutboundAsync(raw, expected, ct)).ConfigureAwait(false);
            }
            catch (Exception retry) when (StoppedOnly(cancellationToken))
            {
                throw new ObjectDisposedException(nameof(SwarmHost), retry);
            }
            catch (Exception retry) when (retry is not OperationCanceledException)
            {
                SwarmLog.HandshakeFailed(_logger, address, retry.Message);
                throw;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            SwarmLog.HandshakeFailed(_logger, address, ex.Message);
            throw;
        }
        if (AdmitSecured(upgraded) is { } refusal)
        {
            await upgraded.Muxer.DisposeAsync().ConfigureAwait(false);
            if (upgraded.RemotePeerId == LocalPeerId)
                throw new DialException(DialError.Self, LocalPeerId, $"{address} reached ourselves");
            throw new ConnectionRefusedException(refusal, upgraded.RemotePeerId, byRemote: false);
        }
        return Register(upgraded, inboundSlot: null);
    }

    // The host stopping, not the caller, ended a dial: it fails as the host being disposed, not as a cancellation.
    private bool StoppedOnly(CancellationToken callerToken) => _stoppingToken.IsCancellationRequested && !callerToken.IsCancellationRequested;

    // The upgraded connection passed the gater and holds a per-peer slot (AdmitSecured); from here its close releases both.
    private Connection Register(UpgradedConnection upgraded, ResourceManager.InboundSlot? inboundSlot)
    {
        ResourceManager.BufferScope? bufferScope = null;
        if (upgraded.Muxer is YamuxSession yamux)
        {
            bufferScope = _resources.OpenBufferScope(upgraded.RemotePeerId);
            yamux.SetBufferBudget(bufferScope);
        }
        var connection = new Connection(upgraded, this, _loggerFactory.CreateLogger<Connection>()) { InboundSlot = inboundSlot, BufferScope = bufferScope };
        _connections.TryAdd(connection, 0);
        OnConnectionRegistered(connection);
        SwarmLog.ConnectionOpened(_logger, connection.RemotePeerId, connection.Direction, connection.RemoteAddress);
        connection.Start();
        if (_disposed != 0)
        {
            // Registered while the host stops: closed, and awaited by DisposeAsync.
            Track(connection.DisposeAsync().AsTask());
            throw new ObjectDisposedException(nameof(SwarmHost));
        }
        try
        {
            ConnectionOpened?.Invoke(this, connection);
        }
        catch (Exception ex)
        {
            SwarmLog.EventHandlerFailed(_logger, nameof(ConnectionOpened), ex.Message);
        }
        return connection;
    }

    internal void OnConnectionClosed(Connection connection)
    {
        OnConnectionClosing(connection);
        // Before the connection leaves the table: whoever sees it gone also sees its buffered bytes and its inbound
        // slot released (both idempotent), so a new connection from the same IP is admitted at once. (Released after
        // the removal, a dial made as soon as Connections dropped was refused now and then under the per-IP cap.)
        connection.BufferScope?.Dispose();
        connection.InboundSlot?.Release();
        if (!_connections.TryRemove(connection, out _)) return;
        _resources.RemovePeerConnection(connection.RemotePeerId);
        SwarmLog.ConnectionClosed(_logger, connection.RemotePeerId, connection.RemoteAddress);
        try
        {
            ConnectionClosed?.Invoke(this, connection);
        }
        catch (Exception ex)
        {
            SwarmLog.EventHandlerFailed(_logger, nameof(ConnectionClosed), ex.Message);
        }
    }

    private static List<Multiaddr> Expand(Multiaddr bound)
    {
        var endPoint = bound.ToIPEndPoint();
        if (endPoint is null || !(endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any)))
            return [bound];
        var family = endPoint.AddressFamily;
        var result = new List<Multiaddr>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != OperationalStatus.Up && nic.NetworkInterfaceType != NetworkInterfaceType.Loopback) continue;
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                var ip = unicast.Address;
                if (ip.AddressFamily != family || (family == AddressFamily.InterNetworkV6 && ip.IsIPv6LinkLocal)) continue;
                result.Add(Multiaddr.FromEndPoint(new IPEndPoint(ip, endPoint.Port)));
            }
        }
        return result.Count > 0 ? result : [bound];
    }

    // Owns `task` until it ends (its outcome is its caller's to observe), so that DisposeAsync awaits it.
    private void Track(Task task)
    {
        if (task.IsCompleted) return;
        var done = task.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _pending.TryAdd(done, 0);
        _ = done.ContinueWith(static (t, s) => ((ConcurrentDictionary<Task, byte>)s!).TryRemove(t, out _),
            _pending, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    // Until none is left: a task still running may add another (a dial that registers, then closes, a connection).
    private async Task AwaitPendingAsync()
    {
        while (!_pending.IsEmpty) await Task.WhenAll(_pending.Keys).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        (ITransportListener Listener, Task Loop)[] listeners;
        lock (_listeners) listeners = [.. _listeners];
        foreach (var (listener, _) in listeners) await listener.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(listeners.Select(l => l.Loop)).ConfigureAwait(false);
        await AwaitPendingAsync().ConfigureAwait(false);
        await StopDialingAsync().ConfigureAwait(false);
        await Task.WhenAll(_connections.Keys.Select(c => c.DisposeAsync().AsTask())).ConfigureAwait(false);
        await AwaitPendingAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _upgrader.Dispose();
        _metrics.Dispose();
    }
}
