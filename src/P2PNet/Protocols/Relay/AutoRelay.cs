using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Protocols.Relay;

/// <summary>
/// Auto-relay: chooses relays among the connected peers that serve <c>/libp2p/circuit/relay/0.2.0/hop</c> (as identify
/// reported their protocols into the <see cref="SwarmHost.PeerStore"/>) and keeps reservations on up to
/// <see cref="AutoRelayOptions.MaxRelays"/> of them through a <see cref="RelayClient"/>, while the node is private; the
/// circuit addresses join <see cref="SwarmHost.Addresses"/>. Fed by the node's reachability
/// (<see cref="UpdateReachability"/>, from AutoNAT): private keeps reservations, public releases them, unknown changes
/// nothing. A relay whose connection closes is replaced by another candidate. It never serves as a relay itself: that is
/// <see cref="RelayService"/>'s job, started only when asked.
/// </summary>
public sealed class AutoRelay : IAsyncDisposable
{
    private readonly SwarmHost _host;
    private readonly RelayClient _client;
    private readonly AutoRelayOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly HashSet<PeerId> _chosen = [];
    private readonly Dictionary<PeerId, DateTimeOffset> _failed = [];
    private readonly Task _loop;
    private volatile int _reachability; // 0 unknown, 1 public, 2 private
    private int _disposed;

    /// <summary>Starts choosing relays for <paramref name="client"/> on <paramref name="host"/> (nothing happens until the node is private).</summary>
    public AutoRelay(SwarmHost host, RelayClient client, AutoRelayOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _host = host ?? throw new ArgumentNullException(nameof(host));
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _options = options ?? AutoRelayOptions.Default;
        ArgumentOutOfRangeException.ThrowIfNegative(_options.MaxRelays);
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<AutoRelay>();
        _host.ConnectionOpened += OnChange;
        _host.ConnectionClosed += OnChange;
        _host.PeerStore.PeerUpdated += OnPeerChange;
        _loop = RunAsync(_stopping.Token);
    }

    /// <summary>The relays auto-relay holds reservations on now.</summary>
    public IReadOnlyList<PeerId> Relays
    {
        get
        {
            lock (_lock) return [.. _chosen];
        }
    }

    /// <summary>Raised when <see cref="Relays"/> changed (a reservation made or released).</summary>
    public event EventHandler? RelaysChanged;

    /// <summary>
    /// The node's reachability (AutoNAT's verdict): true public (every reservation released), false private (reservations
    /// kept on up to <see cref="AutoRelayOptions.MaxRelays"/> relays), null unknown (nothing changes).
    /// </summary>
    public void UpdateReachability(bool? isPublic)
    {
        int value = isPublic switch { true => 1, false => 2, null => 0 };
        if (Interlocked.Exchange(ref _reachability, value) == value) return;
        RelayLog.AutoRelayReachability(_logger, isPublic switch { true => "public", false => "private", null => "unknown" }, Relays.Count);
        Wake();
    }

    private void OnChange(object? sender, Connection connection) => Wake();

    private void OnPeerChange(object? sender, PeerStoreEntry entry) => Wake();

    private void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Woken already.
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        await Task.Yield();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await CheckAsync(ct).ConfigureAwait(false);
                await _wake.WaitAsync(_options.CheckInterval, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task CheckAsync(CancellationToken ct)
    {
        int reachability = _reachability;
        if (reachability == 0) return;
        List<PeerId> chosen;
        lock (_lock) chosen = [.. _chosen];
        // Public: we need no relay. Private: a relay whose connection is gone is replaced.
        foreach (var relay in chosen)
        {
            bool connected = _host.FindConnection(relay) is { IsOpen: true, Info.IsLimited: false };
            if (reachability == 1 || !connected) await ReleaseAsync(relay, reachability == 1 ? "the node is public" : "its connection closed", ct).ConfigureAwait(false);
        }
        if (reachability != 2) return;
        var now = DateTimeOffset.UtcNow;
        foreach (var candidate in Candidates(now))
        {
            lock (_lock)
            {
                if (_chosen.Count >= _options.MaxRelays) return;
            }
            try
            {
                // By PeerId: the live connection is used, and the circuit addresses come from the relay's own answer.
                await _client.AddRelayAsync(Multiaddr.Parse($"/p2p/{candidate}"), ct).ConfigureAwait(false);
                lock (_lock) _chosen.Add(candidate);
                RelayLog.AutoRelayChose(_logger, candidate);
                Raise();
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                lock (_lock) _failed[candidate] = now + _options.Backoff;
                RelayLog.AutoRelayFailed(_logger, candidate, ex.Message);
            }
        }
    }

    // Connected (directly) peers whose identified protocols include hop, not chosen yet nor in backoff; oldest store entries first.
    private List<PeerId> Candidates(DateTimeOffset now)
    {
        var result = new List<PeerId>();
        lock (_lock)
        {
            foreach (var connection in _host.Connections)
            {
                var peer = connection.RemotePeerId;
                if (connection.Info.IsLimited || _chosen.Contains(peer) || result.Contains(peer)) continue;
                if (_failed.TryGetValue(peer, out var until) && until > now) continue;
                if (_host.PeerStore.TryGet(peer, out var entry) && entry.Protocols.Contains(RelayProtocol.HopId)) result.Add(peer);
            }
        }
        return result;
    }

    private async Task ReleaseAsync(PeerId relay, string reason, CancellationToken ct)
    {
        lock (_lock)
        {
            if (!_chosen.Remove(relay)) return;
        }
        await _client.RemoveRelayAsync(relay, ct).ConfigureAwait(false);
        RelayLog.AutoRelayReleased(_logger, relay, reason);
        Raise();
    }

    private void Raise()
    {
        try
        {
            RelaysChanged?.Invoke(this, EventArgs.Empty);
        }
        catch (Exception ex)
        {
            RelayLog.AutoRelayFailed(_logger, _host.LocalPeerId, $"a RelaysChanged handler threw: {ex.Message}");
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _host.ConnectionOpened -= OnChange;
        _host.ConnectionClosed -= OnChange;
        _host.PeerStore.PeerUpdated -= OnPeerChange;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
        _wake.Dispose();
    }
}
