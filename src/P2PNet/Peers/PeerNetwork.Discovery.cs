using System.Collections.Concurrent;
using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Discovery.PeerExchange;
using P2PNet.Negotiation;
using P2PNet.Peers.Packets;
using P2PNet.Security.Noise;

namespace P2PNet.Peers;

// Discovery hooks: peers reported by discovery mechanisms, peer exchange and auto-connect.
public sealed partial class PeerNetwork
{
    // Per (peer, source) we raise PeerDiscovered once, so periodic announcements do not flood the event.
    private const int MaxDiscoveryMemory = 4096;

    private readonly ConcurrentDictionary<(PeerId, string), byte> _discoveredBy = new();
    private readonly ConcurrentDictionary<PeerId, DialBackoff> _backoff = new();
    private readonly ConcurrentDictionary<PeerId, byte> _dialing = new();
    private readonly ConcurrentDictionary<(PeerId, Multiaddr), byte> _badAddresses = new();
    // libp2p peers that proved (Noise) who they are but refused the channel protocol: never dialed again.
    private readonly ConcurrentDictionary<PeerId, byte> _foreign = new();
    private readonly ConcurrentDictionary<PeerId, DateTimeOffset> _yieldUntil = new();
    private readonly List<IPeerDiscovery> _sources = [];
    private readonly SemaphoreSlim _wakeAutoConnect = new(0, 1);
    private readonly Random _random = new();
    private int _discoveryStarted;

    /// <summary>The peer-exchange and auto-connect settings, once <see cref="StartPeerDiscovery"/> was called.</summary>
    public PeerDiscoveryOptions? DiscoveryOptions { get; private set; }

    /// <summary>
    /// Raised when a discovery mechanism (mdns, broadcast, exchange) reports a peer that is now in
    /// KnownPeers; once per peer and mechanism.
    /// </summary>
    public event EventHandler<PeerDiscoveredEventArgs>? PeerDiscovered;

    /// <summary>
    /// Starts peer exchange (a bounded random sample of KnownPeers sent as a CollectionSharePacket to each
    /// channel when it opens and every <see cref="PeerDiscoveryOptions.PeerExchangeInterval"/>) and auto-connect
    /// (keeps <see cref="PeerDiscoveryOptions.TargetPeerCount"/> active channels by dialing known peers, with
    /// backoff per peer, never blocked ones and never ourselves). Call after <see cref="StartAsync"/>; runs
    /// until the network stops. A receiver merges shared peers only if its channel is at Enhanced trust
    /// (<see cref="IncomingPeerTrustPolicy.AllowEnhancedPacketExchange"/>, or a trust protocol that elevates);
    /// at Default trust the packets are dropped by the receiver's trust policy (see docs/discovery.md).
    /// </summary>
    /// <exception cref="InvalidOperationException">The network is not running, or discovery was already started.</exception>
    public void StartPeerDiscovery(PeerDiscoveryOptions? options = null)
    {
        options ??= new PeerDiscoveryOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.TargetPeerCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxConcurrentDials);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxSharedPeers, PacketCodec.MaxPeersPerShare);
        if (!IsRunning) throw new InvalidOperationException("start the network first");
        if (Interlocked.Exchange(ref _discoveryStarted, 1) != 0) throw new InvalidOperationException("peer discovery is already started");
        DiscoveryOptions = options;
        var token = _stopping.Token;
        KnownPeerAdded += OnKnownPeerAdded;
        PeerRemoved += (_, _) => WakeAutoConnect();
        if (options.PeerExchange)
        {
            PeerAdded += (_, channel) => _ = ShareAsync(channel, token);
            _ = Task.Run(() => ExchangeLoopAsync(options, token), CancellationToken.None);
        }
        if (options.TargetPeerCount > 0) _ = Task.Run(() => AutoConnectLoopAsync(options, token), CancellationToken.None);
    }

    /// <summary>
    /// Starts a discovery mechanism announcing this node (its identifier and <see cref="ListenAddresses"/>) and
    /// feeds the peers it reports into KnownPeers (<see cref="PeerDiscovered"/>; auto-connect dials them). The
    /// network stops and disposes it when it stops; the caller may stop and start it meanwhile.
    /// </summary>
    /// <exception cref="DiscoveryException">The mechanism could not start (no interface, socket error).</exception>
    public async Task AddDiscoveryAsync(IPeerDiscovery discovery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(discovery);
        if (!IsRunning) throw new InvalidOperationException("start the network first");
        discovery.PeerDiscovered += OnCandidate;
        try
        {
            await discovery.StartAsync(Identifier, () => ListenAddresses, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            discovery.PeerDiscovered -= OnCandidate;
            PeerDiscoveryLog.SourceFailed(_logger, discovery.Source, ex.Message);
            throw;
        }
        bool first;
        lock (_sources)
        {
            first = _sources.Count == 0;
            _sources.Add(discovery);
        }
        if (first) _stopping.Token.Register(() => _ = DisposeSourcesAsync());
    }

    private async Task DisposeSourcesAsync()
    {
        IPeerDiscovery[] sources;
        lock (_sources)
        {
            sources = [.. _sources];
            _sources.Clear();
        }
        foreach (var source in sources)
        {
            source.PeerDiscovered -= OnCandidate;
            try
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                PeersLog.EventHandlerFailed(_logger, "discovery dispose", ex.Message);
            }
        }
    }

    private void OnCandidate(object? sender, DiscoveredPeer candidate)
    {
        if (!IsRunning || candidate.PeerId == Identifier) return;
        var usable = candidate.Addresses.Where(a => !_badAddresses.ContainsKey((candidate.PeerId, a.WithoutPeerId()))).ToList();
        if (AddKnownPeer(candidate.PeerId, usable, candidate.Source) is not { } peer) return;
        ReportDiscovered(peer, candidate.Source, usable);
    }

    private void OnKnownPeerAdded(object? sender, IPeer peer)
    {
        if (peer is GenericPeer { Source: DiscoverySources.Exchange }) ReportDiscovered(peer, DiscoverySources.Exchange, peer.Addresses);
    }

    private void ReportDiscovered(IPeer peer, string source, IReadOnlyList<Multiaddr> addresses)
    {
        if (_discoveredBy.Count >= MaxDiscoveryMemory) _discoveredBy.Clear();
        if (_discoveredBy.TryAdd((peer.Identifier, source), 0))
        {
            PeerDiscoveryLog.Discovered(_logger, peer.Identifier, source, string.Join(' ', addresses));
            Raise(PeerDiscovered, new PeerDiscoveredEventArgs(peer, source, addresses), nameof(PeerDiscovered));
        }
        if (!_active.ContainsKey(peer.Identifier)) WakeAutoConnect();
    }

    private void WakeAutoConnect()
    {
        try
        {
            if (_wakeAutoConnect.CurrentCount == 0) _wakeAutoConnect.Release();
        }
        catch (SemaphoreFullException)
        {
            // already signalled
        }
    }

    // ---- peer exchange ----

    private async Task ExchangeLoopAsync(PeerDiscoveryOptions options, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.PeerExchangeInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var channel in _active.Values)
                    if (channel.State == PeerChannelState.Open) _ = ShareAsync(channel, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Sends the channel's peer a sample of KnownPeers: never itself, never us, never blocked peers or addresses.</summary>
    private async Task ShareAsync(PeerChannel channel, CancellationToken cancellationToken)
    {
        var options = DiscoveryOptions!;
        var receiver = channel.Identifier;
        // Loopback addresses only mean something to a peer on this machine.
        bool receiverIsLocal = System.Net.IPAddress.IsLoopback(channel.Peer.IP);
        List<PeerRecord> records;
        lock (_random)
        {
            records = PeerExchangeSampler.Sample(_known.Snapshot(), options.MaxSharedPeers,
                    p => p.Identifier != receiver && p.Identifier != Identifier && !TrustPolicy.IsBlocked(p.Identifier), _random)
                .Select(p => new PeerRecord(p.Identifier.ToString(), p.Addresses
                    .Where(a => !TrustPolicy.IsBlocked(a.ToIPEndPoint()?.Address) && !_badAddresses.ContainsKey((p.Identifier, a)))
                    .Where(a => receiverIsLocal || a.ToIPEndPoint() is not { } ep || !System.Net.IPAddress.IsLoopback(ep.Address))
                    .Take(PacketCodec.MaxAddressesPerPeer)
                    .Select(a => a.ToString())))
                .Where(r => r.Addresses.Count > 0)
                .ToList();
        }
        if (records.Count == 0) return;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5)); // a stalled peer must not pin this task
        try
        {
            await channel.SendAsync(new CollectionSharePacket(records), timeout.Token).ConfigureAwait(false);
            PeerDiscoveryLog.Shared(_logger, records.Count, receiver);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or OperationCanceledException or PacketFormatException)
        {
            PeerDiscoveryLog.ShareFailed(_logger, receiver, ex.Message);
        }
    }

    // ---- auto-connect ----

    private async Task AutoConnectLoopAsync(PeerDiscoveryOptions options, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    ConnectMore(options, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    PeerDiscoveryLog.RoundFailed(_logger, ex.Message);
                }
                await _wakeAutoConnect.WaitAsync(options.AutoConnectInterval, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void ConnectMore(PeerDiscoveryOptions options, CancellationToken cancellationToken)
    {
        int busy = _active.Count + _dialing.Count;
        int room = Math.Min(options.TargetPeerCount - busy, options.MaxConcurrentDials - _dialing.Count);
        if (room <= 0) return;
        var now = DateTimeOffset.UtcNow;
        List<GenericPeer> candidates;
        lock (_random)
        {
            candidates = PeerExchangeSampler.Sample(_known.Snapshot(), room, p =>
                p.Identifier != Identifier
                && !TrustPolicy.IsBlocked(p.Identifier)
                && !_active.ContainsKey(p.Identifier)
                && !_opening.ContainsKey(p.Identifier)
                && !_dialing.ContainsKey(p.Identifier)
                && (!_backoff.TryGetValue(p.Identifier, out var b) || b.NextAttempt <= now)
                && YieldOver(p.Identifier, options, now)
                && p.Addresses.Any(a => !_badAddresses.ContainsKey((p.Identifier, a)) && !TrustPolicy.IsBlocked(a.ToIPEndPoint()?.Address)), _random);
        }
        foreach (var peer in candidates)
        {
            if (!_dialing.TryAdd(peer.Identifier, 0)) continue;
            PeerDiscoveryLog.Dialing(_logger, peer.Identifier, _active.Count, options.TargetPeerCount);
            _ = Task.Run(() => DialAsync(peer, options, cancellationToken), CancellationToken.None);
        }
    }

    /// <summary>False while we leave the first dial to a peer whose PeerId sorts below ours (see YieldDelay).</summary>
    private bool YieldOver(PeerId peer, PeerDiscoveryOptions options, DateTimeOffset now)
    {
        if (peer.Bytes.SequenceCompareTo(Identifier.Bytes) >= 0) return true;
        if (_yieldUntil.Count >= MaxDiscoveryMemory) _yieldUntil.Clear();
        return _yieldUntil.GetOrAdd(peer, now + options.YieldDelay) <= now;
    }

    private async Task DialAsync(GenericPeer peer, PeerDiscoveryOptions options, CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(options.DialTimeout);
        var cancellationToken = timeout.Token;
        var id = peer.Identifier;
        Exception? last = null;
        try
        {
            foreach (var address in peer.Addresses)
            {
                if (_badAddresses.ContainsKey((id, address)) || TrustPolicy.IsBlocked(address.ToIPEndPoint()?.Address)) continue;
                try
                {
                    await ConnectAsync(address.WithPeerId(id), cancellationToken).ConfigureAwait(false);
                    _backoff.TryRemove(id, out _);
                    return;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
                {
                    last = ex is OperationCanceledException ? new TimeoutException($"dial timed out after {options.DialTimeout.TotalSeconds} s", ex) : ex;
                    if (FindNoise(ex) is { Error: NoiseError.PeerIdMismatch } noise)
                    {
                        // Someone announced an address where another peer answers: forget it for this peer.
                        if (_badAddresses.Count >= MaxDiscoveryMemory) _badAddresses.Clear();
                        _badAddresses.TryAdd((id, address), 0);
                        PeerDiscoveryLog.AddressDropped(_logger, address, id, noise.Message);
                    }
                    if (ex is PeerNetworkException { Error: PeerNetworkError.Duplicate or PeerNetworkError.Self or PeerNetworkError.Blocked or PeerNetworkError.Stopped }) break;
                    if (FindNoProtocol(ex) is { } refused)
                    {
                        // A libp2p node (js-, go-, rust-libp2p found by mDNS, say) that is not a P2PNet peer: no point in redialing it.
                        if (_foreign.Count >= MaxDiscoveryMemory) _foreign.Clear();
                        _foreign.TryAdd(id, 0);
                        _known.Remove(id);
                        _backoff.TryRemove(id, out _);
                        PeerDiscoveryLog.NotAP2PNetPeer(_logger, id, refused.Message);
                        return;
                    }
                }
            }
            if (last is PeerNetworkException { Error: PeerNetworkError.Duplicate }) return; // it is connecting anyway
            var backoff = _backoff.AddOrUpdate(id, _ => DialBackoff.First(options), (_, b) => b.Next(options));
            PeerDiscoveryLog.DialFailed(_logger, id, backoff.Failures, (backoff.NextAttempt - DateTimeOffset.UtcNow).TotalMilliseconds,
                last?.Message ?? "no usable address");
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _dialing.TryRemove(id, out _);
            if (!stopping.IsCancellationRequested) WakeAutoConnect();
        }
    }

    private static NegotiationException? FindNoProtocol(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
            if (ex is NegotiationException { Error: NegotiationError.NoProtocol } refused) return refused;
        return null;
    }

    private static NoiseException? FindNoise(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
            if (ex is NoiseException noise) return noise;
        return null;
    }

    /// <summary>Failures in a row and when a peer may be dialed again.</summary>
    private readonly record struct DialBackoff(int Failures, DateTimeOffset NextAttempt)
    {
        public static DialBackoff First(PeerDiscoveryOptions options) => new(1, DateTimeOffset.UtcNow + Delay(options, 1));

        public DialBackoff Next(PeerDiscoveryOptions options) => new(Failures + 1, DateTimeOffset.UtcNow + Delay(options, Failures + 1));

        private static TimeSpan Delay(PeerDiscoveryOptions options, int failures)
        {
            double ms = options.DialBackoffBase.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30));
            // Jitter (±20 %) keeps a crowd of nodes from redialing in step.
            ms *= 0.8 + (0.4 * Random.Shared.NextDouble());
            return TimeSpan.FromMilliseconds(Math.Min(ms, options.DialBackoffMax.TotalMilliseconds));
        }
    }
}
