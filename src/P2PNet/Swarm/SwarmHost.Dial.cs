using System.Collections.Concurrent;
using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Security.Noise;
using P2PNet.Upgrade;

namespace P2PNet.Swarm;

// Dialing by PeerId (one dial per peer, typed errors), the per-peer connection index, and simultaneous-dial
// resolution: of two connections to one peer, both sides prefer the one dialed by the lower PeerId and close
// the other once it carries no streams.
public sealed partial class SwarmHost
{
    private readonly Lock _indexLock = new();
    private readonly Dictionary<PeerId, List<Connection>> _byPeer = [];
    private readonly Dictionary<PeerId, Task<Connection>> _dials = [];
    private readonly ConcurrentDictionary<Connection, Task> _redundant = new();
    private readonly SwarmDialMetrics _dialMetrics;

    /// <summary>What this host knows about other peers: addresses, keys, protocols, last dial errors.</summary>
    public PeerStore PeerStore { get; }

    /// <summary>
    /// A live connection to <paramref name="peer"/>, if any. With several (a simultaneous dial), the one both
    /// sides agree on: dialed by the peer whose PeerId sorts lower, else the oldest. Never a closing one.
    /// </summary>
    public Connection? FindConnection(PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        lock (_indexLock) return _byPeer.TryGetValue(peer, out var list) ? Preferred(peer, list) : null;
    }

    /// <summary>
    /// Connects to <paramref name="peer"/>: returns the live connection if there is one, else dials the addresses
    /// the <see cref="PeerStore"/> holds for it, in turn, until one works. Concurrent calls for one peer share a
    /// single dial (each caller's token cancels only its own wait); the dial itself is bounded by
    /// <see cref="SwarmOptions.DialTimeout"/>. The outcome is recorded in the peer store.
    /// </summary>
    /// <exception cref="DialException">Self, Blocked, NoAddresses, AllAddressesFailed (see Attempts), Timeout, HostClosed.</exception>
    public async Task<Connection> DialAsync(PeerId peer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (peer == LocalPeerId) throw new DialException(DialError.Self, peer, "refusing to dial ourselves");
        for (int round = 0; ; round++)
        {
            if (FindConnection(peer) is { } live) return live;
            Task<Connection> dial;
            lock (_dials)
            {
                if (!_dials.TryGetValue(peer, out dial!))
                {
                    dial = DialPeerAsync(peer);
                    // Every joiner may have stopped waiting (cancelled) by the time it fails: observe it here.
                    _ = dial.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                        TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    _dials[peer] = dial;
                }
                else
                {
                    _dialMetrics.Joined();
                }
            }
            try
            {
                return await dial.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not DialException && !cancellationToken.IsCancellationRequested)
            {
                // We joined a dial by address (DialAsync(Multiaddr)) that failed: once more with the store's addresses.
                if (round > 0 || _disposed != 0) throw new DialException(Classify(ex, timedOut: false), peer, $"dialing {peer} failed: {ex.Message}", inner: ex);
            }
        }
    }

    /// <summary>
    /// Opens a stream to <paramref name="peer"/> (dialing it first if need be, see <see cref="DialAsync(PeerId, CancellationToken)"/>)
    /// and negotiates the first of <paramref name="protocols"/> it supports.
    /// </summary>
    /// <exception cref="DialException">The peer could not be reached.</exception>
    /// <exception cref="P2PNetException">The stream could not be opened or no protocol was agreed.</exception>
    public async Task<MuxedStream> NewStreamAsync(PeerId peer, IReadOnlyList<string> protocols, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(protocols);
        for (int attempt = 1; ; attempt++)
        {
            var connection = await DialAsync(peer, cancellationToken).ConfigureAwait(false);
            try
            {
                return await connection.OpenStreamAsync(protocols, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && attempt < MaxStreamAttempts
            && ex is not ConnectionRefusedException && connection.Refusal is null && (!connection.IsOpen || ex is YamuxException))
            {
                // The session ended or the remote went away between the lookup and the open: retire the connection
                // from the table (streams already on it may finish) and dial afresh. A reset stream may be the first
                // sign of a closing remote (its reset can overtake its go-away): try again, and the next open on
                // that session fails at once if it is really going.
                if (!connection.IsOpen || ex is YamuxException { Error: YamuxError.SessionClosed or YamuxError.RemoteGoAway })
                    OnConnectionClosing(connection);
            }
        }
    }

    // Opening a stream is retried on a fresh lookup when the connection turns out to be going away.
    private const int MaxStreamAttempts = 4;

    // The connection gater's dial check of one address (skipped without a socket; recorded as a Blocked attempt).
    private bool IsDialBlocked(PeerId peer, Multiaddr address) => !GaterAllowsDial(peer, address);

    /// <summary>True when <paramref name="address"/> (without <c>/p2p/</c>) is one of our own listen addresses.</summary>
    private bool IsOwnAddress(Multiaddr address) => OwnAddresses().Contains(address.WithoutPeerId());

    // Listen addresses as bound (0.0.0.0 included) and as expanded to interface addresses.
    private HashSet<Multiaddr> OwnAddresses() => [.. ListenAddresses, .. BoundListenAddresses()];

    private void ThrowIfSelf(Multiaddr address)
    {
        if (address.PeerId == LocalPeerId)
            throw new DialException(DialError.Self, LocalPeerId, "refusing to dial ourselves");
        if (address.PeerId is null && IsOwnAddress(address))
            throw new DialException(DialError.Self, LocalPeerId, $"{address} is one of our own listen addresses");
    }

    private async Task<Connection> DialPeerAsync(PeerId peer)
    {
        await Task.Yield();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stoppingToken);
            timeout.CancelAfter(Options.DialTimeout);
            var own = OwnAddresses();
            Multiaddr[] addresses = [.. OrderForDial(peer).Where(a => !own.Contains(a))];
            if (addresses.Length == 0) throw Failed(new DialException(DialError.NoAddresses, peer, $"no dialable address known for {peer}"));

            var attempts = new List<DialAttempt>(addresses.Length);
            foreach (var address in addresses)
            {
                // The gater is asked once per address, here; the dial below does not ask again.
                if (IsDialBlocked(peer, address))
                {
                    attempts.Add(new DialAttempt(address, DialError.Blocked, DialGated(peer, address)));
                    continue;
                }
                try
                {
                    var connection = Remember(await DialUncheckedAsync(address.WithPeerId(peer), peer, gated: true, timeout.Token).ConfigureAwait(false), address);
                    PeerStore.SetLastDialError(peer, null);
                    _dialMetrics.Dialed(null);
                    return connection;
                }
                catch (Exception ex) when (!_stoppingToken.IsCancellationRequested)
                {
                    var error = Classify(ex, timeout.IsCancellationRequested);
                    attempts.Add(new DialAttempt(address, error, ex));
                    SwarmDialLog.DialAttemptFailed(_logger, peer, address, error, ex.Message);
                    if (timeout.IsCancellationRequested) break;
                    // The peer may have dialed us meanwhile.
                    if (FindConnection(peer) is { } live)
                    {
                        _dialMetrics.Dialed(null);
                        return live;
                    }
                }
            }
            var overall = timeout.IsCancellationRequested && !_stoppingToken.IsCancellationRequested ? DialError.Timeout
                : attempts.TrueForAll(a => a.Error == DialError.Blocked) ? DialError.Blocked
                : DialError.AllAddressesFailed;
            throw Failed(new DialException(overall, peer,
                $"dialing {peer} failed ({overall}): " + string.Join("; ", attempts.Select(a => $"{a.Address}: {a.Error}")), attempts));
        }
        catch (Exception ex) when (ex is not DialException && _stoppingToken.IsCancellationRequested)
        {
            throw new DialException(DialError.HostClosed, peer, "the host closed while dialing", inner: ex);
        }
        finally
        {
            lock (_dials) _dials.Remove(peer);
        }
    }

    /// <summary>
    /// <see cref="DialAsync(Multiaddr, CancellationToken)"/> with a <c>/p2p/</c>: reuses a live connection, joins a
    /// dial to that peer already in flight (and dials its own address if that one fails), else dials and lets
    /// later callers join. Failures keep their own exception types here; DialAddressAsync wraps them in a DialException.
    /// </summary>
    private async Task<Connection> DialAddressOfPeerAsync(Multiaddr address, PeerId peer, CancellationToken cancellationToken)
    {
        if (FindConnection(peer) is { } live) return live;
        Task<Connection>? inFlight;
        TaskCompletionSource<Connection>? mine = null;
        lock (_dials)
        {
            if (!_dials.TryGetValue(peer, out inFlight))
            {
                mine = new TaskCompletionSource<Connection>(TaskCreationOptions.RunContinuationsAsynchronously);
                _dials[peer] = mine.Task;
            }
        }
        if (mine is null)
        {
            _dialMetrics.Joined();
            try
            {
                return await inFlight!.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested && _disposed == 0)
            {
                // That dial (perhaps to another address, perhaps cancelled by its caller) failed: try ours.
                if (FindConnection(peer) is { } won) return won;
                return Remember(await DialUncheckedAsync(address, peer, gated: false, cancellationToken).ConfigureAwait(false), address);
            }
        }
        try
        {
            var connection = Remember(await DialUncheckedAsync(address, peer, gated: false, cancellationToken).ConfigureAwait(false), address);
            mine.TrySetResult(connection);
            return connection;
        }
        catch (Exception ex)
        {
            mine.TrySetException(ex);
            _ = mine.Task.Exception; // observed: joiners, if any, handle it themselves
            throw;
        }
        finally
        {
            lock (_dials) _dials.Remove(peer);
        }
    }

    // A dialed address that worked is worth keeping for the next DialAsync(PeerId).
    private Connection Remember(Connection connection, Multiaddr address)
    {
        PeerStore.AddAddress(connection.RemotePeerId, address.WithoutPeerId(), AddressSource.Dial);
        return connection;
    }

    private DialException Failed(DialException ex)
    {
        _dialMetrics.Dialed(ex.Error);
        if (ex.PeerId is { } peer) PeerStore.SetLastDialError(peer, ex);
        return ex;
    }

    // Addresses we learned ourselves first (a dial that worked, identify, manual), then hearsay; relayed
    // (p2p-circuit) addresses after every direct one.
    private IEnumerable<Multiaddr> OrderForDial(PeerId peer) =>
        PeerStore.TryGet(peer, out var entry)
            ? entry.Addresses.OrderBy(a => a.Address.IsCircuit).ThenBy(a => a.Source switch
            {
                AddressSource.Dial => 0,
                AddressSource.Manual => 1,
                AddressSource.Identify => 2,
                AddressSource.Bootstrap => 3,
                _ => 4,
            }).Select(a => a.Address)
            : [];

    private static DialError Classify(Exception ex, bool timedOut) => ex switch
    {
        _ when timedOut => DialError.Timeout,
        DialException d => d.Error,
        ConnectionRefusedException { ByRemote: false, Reason: RefusalReason.ResourceLimit } => DialError.ResourceLimit,
        ConnectionRefusedException { ByRemote: false } => DialError.Blocked,
        ConnectionRefusedException => DialError.Refused,
        TimeoutException or OperationCanceledException => DialError.Timeout,
        UpgradeException { InnerException: OperationCanceledException or TimeoutException } => DialError.Timeout,
        SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.ConnectionReset } => DialError.Refused,
        SocketException { SocketErrorCode: SocketError.TimedOut } => DialError.Timeout,
        SocketException => DialError.Unreachable,
        NoiseException { Error: NoiseError.PeerIdMismatch } => DialError.PeerIdMismatch,
        ArgumentException => DialError.NoTransport,
        ObjectDisposedException => DialError.HostClosed,
        P2PNetException or EndOfStreamException or IOException => DialError.HandshakeFailed,
        _ => DialError.Other,
    };

    // ------------------------------------------------------------ connection index

    // The side whose PeerId sorts lower dialed the connection both keep (the peer network's channels follow the same rule).
    internal ConnectionDirection KeptDirection(PeerId peer) =>
        peer.Bytes.SequenceCompareTo(LocalPeerId.Bytes) < 0 ? ConnectionDirection.Inbound : ConnectionDirection.Outbound;

    // A new connection of `direction` is the one both sides keep while every live one to the peer is of the other
    // direction (a simultaneous dial): it is admitted even one over the per-peer limit.
    private bool WinsSimultaneousDial(PeerId peer, ConnectionDirection direction)
    {
        if (direction != KeptDirection(peer)) return false;
        lock (_indexLock)
            return _byPeer.TryGetValue(peer, out var list) && list.Exists(c => c.IsOpen) && !list.Exists(c => c.IsOpen && c.Direction == direction);
    }

    private Connection? Preferred(PeerId peer, List<Connection> list)
    {
        // A direct connection beats a relayed one (limited or not); then the direction both sides keep.
        var kept = KeptDirection(peer);
        Connection? best = null;
        foreach (var c in list)
        {
            if (!c.IsOpen) continue;
            if (best is null || (best.IsRelayed && !c.IsRelayed)
                || (best.IsRelayed == c.IsRelayed && best.Direction != kept && c.Direction == kept)) best = c;
        }
        return best;
    }

    private void OnConnectionRegistered(Connection connection)
    {
        var peer = connection.RemotePeerId;
        List<Connection> redundant = [];
        lock (_indexLock)
        {
            if (!_byPeer.TryGetValue(peer, out var list)) _byPeer[peer] = list = [];
            list.Add(connection);
            // Only a simultaneous dial (connections of both directions) is resolved, and only the direction both
            // sides agree to drop is closed: two connections of one direction are ordered differently on each side,
            // so closing by order could close both.
            // Relayed connections (limited or not) are left alone: they are not duplicates of a direct one.
            if (list.Count > 1 && Preferred(peer, list) is { IsRelayed: false } preferred && preferred.Direction == KeptDirection(peer))
                redundant.AddRange(list.Where(c => c.IsOpen && !c.IsRelayed && c.Direction != preferred.Direction));
        }
        PeerStore.OnConnected(peer, connection.RemotePublicKey, connection.Direction);
        foreach (var c in redundant) CloseWhenIdle(c);
    }

    // Called as soon as a connection starts closing (and again once closed): it leaves the index at once.
    internal void OnConnectionClosing(Connection connection)
    {
        bool removed;
        lock (_indexLock)
        {
            removed = _byPeer.TryGetValue(connection.RemotePeerId, out var list) && list.Remove(connection);
            if (removed && list!.Count == 0) _byPeer.Remove(connection.RemotePeerId);
        }
        if (removed)
        {
            PeerStore.OnDisconnected(connection.RemotePeerId, connection.Direction);
            ForgetObservations(connection);
        }
    }

    private void CloseWhenIdle(Connection connection)
    {
        if (_disposed != 0 || _redundant.ContainsKey(connection)) return;
        var task = CloseWhenIdleAsync(connection);
        if (!_redundant.TryAdd(connection, task)) return;
        _ = task.ContinueWith(static (_, s) => ((Tuple<ConcurrentDictionary<Connection, Task>, Connection>)s!).Item1.TryRemove(((Tuple<ConcurrentDictionary<Connection, Task>, Connection>)s!).Item2, out Task? _),
            Tuple.Create(_redundant, connection), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task CloseWhenIdleAsync(Connection connection)
    {
        await Task.Yield();
        var ct = _stoppingToken;
        try
        {
            // Let whoever just got this connection (a racing dial, identify) open its streams first.
            await Task.Delay(Options.RedundantConnectionGracePeriod, ct).ConfigureAwait(false);
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            while (connection.IsOpen)
            {
                if (FindConnection(connection.RemotePeerId) is not { } preferred || ReferenceEquals(preferred, connection)) return;
                if (connection.StreamCount == 0)
                {
                    SwarmDialLog.RedundantConnectionClosed(_logger, connection.RemotePeerId, connection.Direction, connection.RemoteAddress);
                    _dialMetrics.RedundantClosed();
                    await connection.CloseAsync().ConfigureAwait(false);
                    return;
                }
                await timer.WaitForNextTickAsync(ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task StopDialingAsync()
    {
        Task[] dials;
        lock (_dials) dials = [.. _dials.Values];
        await Task.WhenAll(dials.Select(d => d.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)))
            .ConfigureAwait(false);
        await Task.WhenAll(_redundant.Values).ConfigureAwait(false);
        _dialMetrics.Dispose();
    }
}
