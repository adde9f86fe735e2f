using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Swarm;

namespace P2PNet.Protocols.Identify;

/// <summary>
/// Identify on a <see cref="SwarmHost"/>: answers <c>/ipfs/id/1.0.0</c> with our key, listen addresses,
/// protocols and the address we observe for the asker; accepts <c>/ipfs/id/push/1.0.0</c>; and identifies
/// each new connection. What peers say is checked against their PeerId, kept while they are connected and
/// written to the host's <see cref="SwarmHost.PeerStore"/>; the address they observe for us goes to the host's
/// observed addresses. When our protocols or addresses change, every connected peer gets an identify push
/// (debounced, bounded concurrency).
/// </summary>
public sealed class IdentifyService : IAsyncDisposable
{
    private readonly SwarmHost _host;
    private readonly IdentifyOptions _options;
    private readonly ILogger _logger;
    // One pending "something changed" is enough: the push sends the state at the time it runs.
    private readonly Channel<byte> _changes = Channel.CreateBounded<byte>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping;
    private readonly Task _pushLoop = Task.CompletedTask;
    // What we say about ourselves apart from the observed address, shared by the answers given within
    // SnapshotLifetime: Addresses enumerates the network interfaces, too slow to repeat for every asker.
    // A local change drops it at once.
    private volatile LocalSnapshot? _snapshot;
    private int _snapshotsBuilt;
    private int _disposed;

    private static readonly TimeSpan SnapshotLifetime = TimeSpan.FromSeconds(1);

    private sealed record LocalSnapshot(IdentifyInfo Info, long Taken);

    /// <summary>Registers the identify handlers on <paramref name="host"/>.</summary>
    public IdentifyService(SwarmHost host, IdentifyOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _host = host ?? throw new ArgumentNullException(nameof(host));
        _options = options ?? new IdentifyOptions();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<IdentifyService>();
        host.SetStreamHandler(IdentifyProtocol.Id, ServeAsync, runOnLimitedConnection: true);
        host.SetStreamHandler(IdentifyProtocol.PushId, ReceivePushAsync, runOnLimitedConnection: true);
        if (_options.IdentifyOnConnect) host.ConnectionOpened += (_, c) => _ = IdentifyInBackgroundAsync(c);
        _stopping = CancellationTokenSource.CreateLinkedTokenSource(host.Stopping);
        host.ProtocolsChanged += OnLocalChange;
        host.AddressesChanged += OnLocalChange;
        if (_options.PushOnChange) _pushLoop = PushLoopAsync(_stopping.Token);
    }

    private void OnLocalChange(object? sender, EventArgs e)
    {
        _snapshot = null;
        if (_options.PushOnChange) _changes.Writer.TryWrite(0);
    }

    /// <summary>How many times our own identify was built (for tests: once per push round, not per target).</summary>
    internal int SnapshotsBuilt => Volatile.Read(ref _snapshotsBuilt);

    /// <summary>Raised each time a peer's identify information arrives and checks out.</summary>
    public event EventHandler<PeerIdentifiedEventArgs>? PeerIdentified;

    /// <summary>
    /// The last identify information of a connected peer, if any, as the host's <see cref="SwarmHost.PeerStore"/> holds
    /// it (identify keeps no table of its own): key, listen addresses, protocols and versions. The address the peer
    /// observed for us is not repeated here (it went to the host's observed addresses), so
    /// <see cref="IdentifyInfo.ObservedAddr"/> is null.
    /// </summary>
    public IdentifyInfo? Get(PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (_host.FindConnection(peer) is null || !_host.PeerStore.TryGet(peer, out var entry)) return null;
        if (entry.Protocols.Count == 0 && entry.AgentVersion is null && entry.ProtocolVersion is null) return null; // not identified yet
        return new IdentifyInfo
        {
            PublicKey = entry.PublicKey,
            ListenAddrs = [.. entry.Addresses.Where(a => a.Source == AddressSource.Identify).Select(a => a.Address)],
            Protocols = entry.Protocols,
            AgentVersion = entry.AgentVersion,
            ProtocolVersion = entry.ProtocolVersion,
        };
    }

    /// <summary>What we tell a peer that asks on <paramref name="connection"/>.</summary>
    public IdentifyInfo LocalInfo(Connection? connection) => BuildLocalInfo() with { ObservedAddr = connection?.RemoteAddress };

    private IdentifyInfo BuildLocalInfo()
    {
        Interlocked.Increment(ref _snapshotsBuilt);
        return new()
        {
            ProtocolVersion = _options.ProtocolVersion,
            AgentVersion = _options.AgentVersion,
            PublicKey = _host.Identity.PublicKey,
            ListenAddrs = _host.Addresses,
            Protocols = [.. _host.Protocols.Order(StringComparer.Ordinal)],
        };
    }

    // The shared snapshot, rebuilt when older than SnapshotLifetime (or dropped by a local change).
    private IdentifyInfo CachedLocalInfo()
    {
        long now = Stopwatch.GetTimestamp();
        if (_snapshot is { } s && Stopwatch.GetElapsedTime(s.Taken, now) < SnapshotLifetime) return s.Info;
        var info = BuildLocalInfo();
        _snapshot = new LocalSnapshot(info, now);
        return info;
    }

    /// <summary>Asks the peer on <paramref name="connection"/> who it is, checks its key and records the answer.</summary>
    /// <exception cref="IdentifyException">The answer is malformed or its key is not the connection's PeerId.</exception>
    public async Task<IdentifyInfo> IdentifyAsync(Connection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var stream = await connection.OpenStreamAsync(IdentifyProtocol.Id, timeout.Token).ConfigureAwait(false);
        IdentifyInfo info;
        await using (stream.ConfigureAwait(false))
        {
            await stream.CloseWriteAsync(timeout.Token).ConfigureAwait(false);
            info = await IdentifyProtocol.ReadAsync(stream, timeout.Token).ConfigureAwait(false);
        }
        // Only an answer to our own question says where the peer sees us now; a push may be stale.
        Accept(connection, info, recordObserved: true);
        return info;
    }

    /// <summary>Sends our current identify to the peer on <paramref name="connection"/> (<c>/ipfs/id/push/1.0.0</c>).</summary>
    public Task PushAsync(Connection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return PushAsync(connection, BuildLocalInfo(), cancellationToken);
    }

    // Pushes `local` (our identify without the observed address, built once per round) with this connection's observed address.
    private async Task PushAsync(Connection connection, IdentifyInfo local, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var stream = await connection.OpenStreamAsync(IdentifyProtocol.PushId, timeout.Token).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await IdentifyProtocol.WriteAsync(stream, local with { ObservedAddr = connection.RemoteAddress }, timeout.Token).ConfigureAwait(false);
            await stream.CloseWriteAsync(timeout.Token).ConfigureAwait(false);
        }
    }

    private async Task PushLoopAsync(CancellationToken ct)
    {
        await Task.Yield();
        long lastRound = 0;
        try
        {
            while (await _changes.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                // Several changes in a row (handlers registered at start-up, a burst of confirmations) make one push.
                await Task.Delay(_options.PushDebounce, ct).ConfigureAwait(false);
                // Changes that keep coming still make at most one round per MinPushInterval.
                if (lastRound != 0)
                {
                    var wait = _options.MinPushInterval - Stopwatch.GetElapsedTime(lastRound);
                    if (wait > TimeSpan.Zero) await Task.Delay(wait, ct).ConfigureAwait(false);
                }
                while (_changes.Reader.TryRead(out _))
                {
                }
                var targets = _host.Connections.Where(c => c.IsOpen && SupportsPush(c.RemotePeerId)).ToArray();
                if (targets.Length == 0) continue;
                lastRound = Stopwatch.GetTimestamp();
                var local = BuildLocalInfo(); // once per round, not per target
                var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentPushes, CancellationToken = ct };
                await Parallel.ForEachAsync(targets, parallel, (c, token) => PushQuietlyAsync(c, local, token)).ConfigureAwait(false);
            }
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            // Stopping: a push cut short may surface as its stream's or connection's failure.
        }
    }

    // Unknown protocols (not identified yet) get the push too: it costs one refused negotiation at worst.
    private bool SupportsPush(PeerId peer) =>
        Get(peer) is not { } info || info.Protocols.Count == 0 || info.Protocols.Contains(IdentifyProtocol.PushId, StringComparer.Ordinal);

    private async ValueTask PushQuietlyAsync(Connection connection, IdentifyInfo local, CancellationToken ct)
    {
        try
        {
            await PushAsync(connection, local, ct).ConfigureAwait(false);
            IdentifyLog.Pushed(_logger, connection.RemotePeerId);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            IdentifyLog.PushFailed(_logger, connection.RemotePeerId, ex.Message);
        }
    }

    private async Task IdentifyInBackgroundAsync(Connection connection)
    {
        await Task.Yield();
        try
        {
            await IdentifyAsync(connection).ConfigureAwait(false);
        }
        catch (Exception ex) when (connection.IsOpen && !IsSessionEnding(ex))
        {
            IdentifyLog.Failed(_logger, connection.RemotePeerId, ex.Message);
        }
        catch (Exception)
        {
            // The connection closed under us (a short-lived peer such as `p2pnet ping` leaving): nothing to report.
        }
    }

    // The session can end a moment before the connection says it is closed, and a peer that leaves resets the
    // streams it was still serving: routine, not worth a warning.
    private static bool IsSessionEnding(Exception ex) =>
        ex is YamuxException { Error: YamuxError.SessionClosed or YamuxError.RemoteGoAway or YamuxError.ConnectionLost or YamuxError.StreamReset };

    private async Task ServeAsync(MuxedStream stream, Connection connection, CancellationToken cancellationToken)
    {
        await IdentifyProtocol.WriteAsync(stream, CachedLocalInfo() with { ObservedAddr = connection.RemoteAddress }, cancellationToken).ConfigureAwait(false);
        await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ReceivePushAsync(MuxedStream stream, Connection connection, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var pushed = await IdentifyProtocol.ReadAsync(stream, timeout.Token).ConfigureAwait(false);
        // A push may carry only what changed: keep the earlier fields where it is silent.
        var known = Get(connection.RemotePeerId);
        var merged = known is null ? pushed : known with
        {
            ProtocolVersion = pushed.ProtocolVersion ?? known.ProtocolVersion,
            AgentVersion = pushed.AgentVersion ?? known.AgentVersion,
            PublicKey = pushed.PublicKey ?? known.PublicKey,
            ListenAddrs = pushed.ListenAddrs.Count > 0 ? pushed.ListenAddrs : known.ListenAddrs,
            Protocols = pushed.Protocols.Count > 0 ? pushed.Protocols : known.Protocols,
            ObservedAddr = pushed.ObservedAddr ?? known.ObservedAddr,
        };
        Accept(connection, merged);
    }

    // Validates, stores and records the answer (and, for our own request, the observed address) before
    // PeerIdentified is raised, so that a handler sees everything the answer changed.
    private void Accept(Connection connection, IdentifyInfo info, bool recordObserved = false)
    {
        info.Validate(connection.RemotePeerId);
        if (recordObserved && info.ObservedAddr is { } observed) _host.RecordObservedAddress(connection, observed);
        _host.PeerStore.RecordIdentify(connection.RemotePeerId, info.PublicKey, info.ListenAddrs, info.Protocols, info.AgentVersion, info.ProtocolVersion);
        IdentifyLog.Identified(_logger, connection.RemotePeerId, info.AgentVersion ?? "?", info.Protocols.Count, info.ListenAddrs.Count);
        try
        {
            PeerIdentified?.Invoke(this, new PeerIdentifiedEventArgs(connection, info));
        }
        catch (Exception ex)
        {
            IdentifyLog.HandlerFailed(_logger, ex.Message);
        }
    }

    /// <summary>Stops pushing; the handlers stay registered on the host until it is disposed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _host.ProtocolsChanged -= OnLocalChange;
        _host.AddressesChanged -= OnLocalChange;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _pushLoop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
