using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Protocols.Transfer;

/// <summary>
/// Verified file transfer on a <see cref="SwarmHost"/>: serves shared files over <c>/p2pnet/transfer/1.0.0</c> and
/// fetches from several providers at once. Creating it registers the handler.
/// </summary>
/// <remarks>
/// A fetch queues the missing ranges (4 MiB by default) and gives each provider a few workers that pull the next
/// range when they finish one, so fast providers take more of the file. A provider that sends one bad group, stalls
/// or refuses is dropped for the fetch and the unverified rest of its range goes back on the queue. Memory per
/// worker is one 32 KiB batch of groups and one path of hashes, whatever the file size.
/// </remarks>
public sealed class TransferService : IDisposable
{
    /// <summary>
    /// Groups the receiver verifies into one buffer before one write to the partial file and its bitfield (32 KiB).
    /// Two, so a kill loses at most one verified but unrecorded group per request in flight (the resume aim is
    /// ≤ 64 KiB re-fetched with the default two requests); the extra write per 32 KiB costs no measurable CPU.
    /// </summary>
    internal const int WriteBatchGroups = 2;


    private readonly TransferOptions _options;
    private readonly ILogger _logger;
    private readonly ByteRateLimiter? _limiter;
    private readonly TransferMetrics _metrics;
    private readonly ConcurrentDictionary<ContentId, SharedFile> _shares = new();
    private readonly ConcurrentDictionary<PeerId, int> _serving = new();
    private readonly List<SharedFile> _retired = [];
    private int _disposed;

    /// <summary>Registers the transfer handler on <paramref name="host"/>.</summary>
    public TransferService(SwarmHost host, TransferOptions? options = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        _metrics = new TransferMetrics(meterFactory);
        ArgumentNullException.ThrowIfNull(host);
        _options = options ?? TransferOptions.Default;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("P2PNet.Protocols.Transfer");
        if (_options.MaxBytesPerSecond is { } rate) _limiter = new ByteRateLimiter(rate);
        host.SetStreamHandler(TransferProtocol.Id, ServeAsync);
    }

    /// <summary>
    /// Decides access for peers that present no matching ticket secret (for example: their channel has Enhanced
    /// trust). Null refuses them.
    /// </summary>
    public Func<PeerId, SharedFile, bool>? Authorize { get; set; }

    /// <summary>The files being served.</summary>
    public IReadOnlyCollection<SharedFile> Shares => [.. _shares.Values];

    /// <summary>The share of <paramref name="id"/>, if this service serves it.</summary>
    public SharedFile? FindShare(ContentId id) => _shares.GetValueOrDefault(id);

    /// <summary>
    /// Shares a file: computes its tree once (or reuses the stored one) and serves it. With
    /// <paramref name="withSecret"/> it gets a random 128-bit secret that lets anyone holding it fetch; with
    /// <paramref name="allowedPeers"/> only those peers may fetch at all. Sharing content that is already shared
    /// returns the existing share unless the terms differ, when the new share replaces it.
    /// </summary>
    public async Task<SharedFile> ShareAsync(string path, bool withSecret = false, IEnumerable<PeerId>? allowedPeers = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        string full = Path.GetFullPath(path);
        string treePath = full + TreeFile.Suffix;
        if (_options.TreeDirectory is { } folder)
        {
            Directory.CreateDirectory(folder);
            treePath = Path.Combine(folder, Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(full)).AsSpan(0, 16)) + TreeFile.Suffix);
        }
        var tree = await TreeFile.CreateOrOpenAsync(full, treePath, cancellationToken).ConfigureAwait(false);
        Microsoft.Win32.SafeHandles.SafeFileHandle data;
        try
        {
            data = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        }
        catch
        {
            tree.Dispose();
            throw;
        }
        byte[] secret = withSecret ? RandomNumberGenerator.GetBytes(TransferProtocol.SecretSize) : [];
        var share = new SharedFile(full, tree, data, secret, allowedPeers is null ? null : new HashSet<PeerId>(allowedPeers));
        lock (_retired)
        {
            if (_shares.TryGetValue(share.Id, out var current))
            {
                // The same terms again: keep the first share (and its secret, which tickets already carry).
                if (current.Secret.Length == share.Secret.Length && current.AllowedPeers is null && allowedPeers is null)
                {
                    share.Dispose();
                    return current;
                }
                // New terms replace the old; streams may still be reading the old handles, so they close on Dispose.
                _retired.Add(current);
            }
            _shares[share.Id] = share;
        }
        TransferLog.Shared(_logger, share.Name, share.Size, share.Id);
        return share;
    }

    /// <summary>Stops serving <paramref name="id"/>; transfers already running may fail.</summary>
    public bool Unshare(ContentId id)
    {
        if (!_shares.TryRemove(id, out var share)) return false;
        share.Dispose();
        return true;
    }

    /// <summary>
    /// Fetches <paramref name="id"/> (<paramref name="size"/> bytes) from <paramref name="providers"/> into
    /// <paramref name="destination"/>, verifying every 16 KiB group before writing it to
    /// <c>&lt;destination&gt;.partial</c>; renames it on success. Run again after a failure or a crash, it asks only
    /// for the groups not yet verified. Throws <see cref="TransferException"/>: Destination when the file exists and
    /// <see cref="FetchOptions.Overwrite"/> is false, NoProviders when every provider was dropped (the partial file
    /// stays).
    /// </summary>
    public async Task<FetchResult> FetchAsync(ContentId id, long size, IReadOnlyList<Connection> providers, string destination,
        FetchOptions? options = null, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(providers);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        options ??= FetchOptions.Default;
        destination = Path.GetFullPath(destination);
        if (Directory.Exists(destination)) throw new TransferException(TransferError.Destination, $"{destination} is a folder");
        if (File.Exists(destination) && !options.Overwrite) throw new TransferException(TransferError.Destination, $"{destination} exists (overwrite it with --force)");
        PartialDownload opened;
        try
        {
            if (Path.GetDirectoryName(destination) is { } parent) Directory.CreateDirectory(parent);
            opened = PartialDownload.Open(destination, id, size);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TransferException(TransferError.Destination, $"cannot write {destination}{PartialDownload.Suffix}: {ex.Message}", ex);
        }
        var partial = opened;
        var run = new FetchRun(this, id, partial, providers, options, progress);
        try
        {
            await run.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await partial.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        try
        {
            await partial.CompleteAsync(options.Overwrite).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TransferException(TransferError.Destination, $"cannot move {destination}{PartialDownload.Suffix} to {destination}: {ex.Message}", ex);
        }
        TransferLog.Fetched(_logger, id, destination, run.Fetched, run.Resumed);
        _metrics.Fetched(run.Fetched);
        return new FetchResult(destination, id, size, run.Resumed, run.Fetched, run.Discarded, run.Dropped);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var id in _shares.Keys) Unshare(id);
        lock (_retired)
        {
            foreach (var share in _retired) share.Dispose();
            _retired.Clear();
        }
        _metrics.Dispose();
    }

    private bool IsAllowed(PeerId peer, SharedFile share, ReadOnlySpan<byte> secret)
    {
        // An allow list replaces the ticket: exactly those peers may fetch.
        if (share.AllowedPeers is { } allowed) return allowed.Contains(peer);
        bool hasSecret = share.Secret.Length > 0 && secret.Length == share.Secret.Length
            && CryptographicOperations.FixedTimeEquals(secret, share.Secret.Span);
        return hasSecret || Authorize?.Invoke(peer, share) == true;
    }

    private async Task ServeAsync(MuxedStream stream, Connection connection, CancellationToken cancellationToken)
    {
        var peer = connection.RemotePeerId;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(_options.IdleTimeout);
        TransferRequest request;
        try
        {
            request = await TransferProtocol.ReadRequestAsync(stream, idle.Token).ConfigureAwait(false);
        }
        catch (TransferException ex)
        {
            TransferLog.BadRequest(_logger, peer, ex.Message);
            _metrics.Refused("malformed");
            stream.Reset();
            return;
        }

        var status = TransferStatus.Ok;
        if (!_shares.TryGetValue(request.Id, out var share)) status = TransferStatus.NotFound;
        else if (!IsAllowed(peer, share, request.Secret.Span)) status = TransferStatus.Denied;
        else if (request.FirstGroup + request.GroupCount > share.Tree.LevelCounts[0]) status = TransferStatus.BadRange;
        else if (_serving.AddOrUpdate(peer, 1, (_, n) => n + 1) > _options.MaxConcurrentPerPeer)
        {
            Release(peer);
            status = TransferStatus.Busy;
        }
        if (status != TransferStatus.Ok)
        {
            TransferLog.Refused(_logger, peer, status);
            _metrics.Refused(status.ToString());
            await stream.WriteAsync(new[] { (byte)status }, idle.Token).ConfigureAwait(false);
            await stream.CloseWriteAsync(idle.Token).ConfigureAwait(false);
            return;
        }
        try
        {
            // The walk gathers proof nodes and groups into 256 KiB writes itself (TransferProtocol.SendChunkSize).
            await TransferProtocol.SendRangeAsync(stream, share!.Tree, share.Data, request.FirstGroup, request.GroupCount, _limiter,
                () => idle.CancelAfter(_options.IdleTimeout), idle.Token).ConfigureAwait(false);
            await stream.CloseWriteAsync(idle.Token).ConfigureAwait(false);
            TransferLog.Served(_logger, request.GroupCount, request.FirstGroup, request.Id, peer);
            _metrics.Served(request.GroupCount);
        }
        finally
        {
            Release(peer);
        }
    }

    private void Release(PeerId peer)
    {
        if (_serving.AddOrUpdate(peer, 0, (_, n) => n - 1) <= 0) _serving.TryRemove(new KeyValuePair<PeerId, int>(peer, 0));
    }

    /// <summary>One fetch: the queue of missing ranges, the providers' workers and the progress reports.</summary>
    private sealed class FetchRun(TransferService service, ContentId id, PartialDownload partial, IReadOnlyList<Connection> providers,
        FetchOptions options, IProgress<TransferProgress>? progress)
    {
        private readonly Channel<(long First, long Count)> _queue = Channel.CreateUnbounded<(long, long)>();
        private int _outstanding;
        private int _live;
        private long _fetched;
        private long _discarded;
        private int _dropped;
        private Exception? _fatal;

        public long Resumed { get; } = partial.VerifiedBytes;

        public long Fetched => Interlocked.Read(ref _fetched);

        public long Discarded => Interlocked.Read(ref _discarded);

        public int Dropped => _dropped;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var opts = service._options;
            foreach (var range in partial.MissingRanges(0, partial.GroupCount, opts.GroupsPerRequest))
            {
                _queue.Writer.TryWrite(range);
                _outstanding++;
            }
            if (_outstanding == 0) return;
            if (providers.Count == 0) throw new TransferException(TransferError.NoProviders, "no providers to fetch from");
            _live = providers.Count;

            long started = Stopwatch.GetTimestamp();
            using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // Cancelled by the caller or by a local failure (the destination cannot be written) that ends every worker.
            using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var reporter = ReportAsync(done.Token);
            var workers = new List<Task>();
            foreach (var connection in providers)
            {
                var provider = new Provider(connection);
                for (int i = 0; i < Math.Max(1, opts.RequestsPerProvider); i++) workers.Add(WorkAsync(provider, abort));
            }
            try
            {
                await Task.WhenAll(workers).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (Volatile.Read(ref _fatal) is not null && !cancellationToken.IsCancellationRequested)
            {
            }
            finally
            {
                await done.CancelAsync().ConfigureAwait(false);
                await reporter.ConfigureAwait(false);
            }
            Report(Fetched / Math.Max(1e-3, Stopwatch.GetElapsedTime(started).TotalSeconds));
            cancellationToken.ThrowIfCancellationRequested();
            if (Volatile.Read(ref _fatal) is { } fatal) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(fatal);
            if (!partial.IsComplete)
                throw new TransferException(TransferError.NoProviders, $"every provider was dropped with {partial.Size - partial.VerifiedBytes} bytes missing; run the fetch again to resume");
        }

        private async Task WorkAsync(Provider provider, CancellationTokenSource abort)
        {
            var cancellationToken = abort.Token;
            await foreach (var range in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (provider.Dead)
                {
                    _queue.Writer.TryWrite(range);
                    return;
                }
                try
                {
                    await FetchRangeAsync(provider, range.First, range.Count, cancellationToken).ConfigureAwait(false);
                    Finished(range);
                }
                catch (TransferException ex) when (ex.Error == TransferError.Destination)
                {
                    // Our disk, not the provider: every worker stops, the verified groups stay in the partial file.
                    Interlocked.CompareExchange(ref _fatal, ex, null);
                    _queue.Writer.TryComplete();
                    await abort.CancelAsync().ConfigureAwait(false);
                    return;
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    bool busy = ex is TransferException { Error: TransferError.Busy };
                    if (ex is TransferException { Error: TransferError.Corrupt }) Interlocked.Add(ref _discarded, MerkleTree.GroupSize);
                    Finished(range);
                    if (busy)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    if (provider.Drop())
                    {
                        Interlocked.Increment(ref _dropped);
                        service._metrics.Dropped();
                        TransferLog.ProviderDropped(service._logger, provider.Connection.RemotePeerId, id, ex is OperationCanceledException ? "no bytes within the idle timeout" : ex.Message);
                        if (Interlocked.Decrement(ref _live) == 0) _queue.Writer.TryComplete();
                    }
                    return;
                }
            }
        }

        // Puts back what is still unverified of a range that ended (well or not), and ends the queue when nothing is left.
        private void Finished((long First, long Count) range)
        {
            var rest = partial.MissingRanges(range.First, range.First + range.Count, service._options.GroupsPerRequest).ToList();
            if (Interlocked.Add(ref _outstanding, rest.Count - 1) == 0) _queue.Writer.TryComplete();
            foreach (var r in rest) _queue.Writer.TryWrite(r);
        }

        private async Task FetchRangeAsync(Provider provider, long first, long count, CancellationToken cancellationToken)
        {
            var timeout = service._options.IdleTimeout;
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            idle.CancelAfter(timeout);
            var stream = await provider.Connection.OpenStreamAsync(TransferProtocol.Id, idle.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                try
                {
                    // The whole range is wanted and read as it comes: let the provider send it without waiting for the
                    // window to grow from 256 KiB on every new stream (each range is one).
                    stream.OpenReceiveWindow(count * MerkleTree.GroupSize);
                    await TransferProtocol.WriteRequestAsync(stream, new TransferRequest(id, options.Secret, first, count), idle.Token).ConfigureAwait(false);
                    await stream.CloseWriteAsync(idle.Token).ConfigureAwait(false);
                    // Read straight from the stream (no buffer in between): groups land in the batch they are verified in.
                    await TransferProtocol.ReceiveRangeAsync(stream, id, partial.Size, first, count, WriteBatchGroups, (group, groups, bytes) =>
                    {
                        idle.CancelAfter(timeout);
                        Interlocked.Add(ref _fetched, partial.WriteGroups(group, groups, bytes.Span));
                        return ValueTask.CompletedTask;
                    }, idle.Token).ConfigureAwait(false);
                }
                catch
                {
                    stream.Reset();
                    throw;
                }
            }
        }

        private async Task ReportAsync(CancellationToken cancellationToken)
        {
            if (progress is null) return;
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
            long lastBytes = partial.VerifiedBytes, lastTime = Stopwatch.GetTimestamp();
            double rate = 0;
            try
            {
                while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                {
                    long now = Stopwatch.GetTimestamp(), bytes = partial.VerifiedBytes;
                    double sample = (bytes - lastBytes) / Stopwatch.GetElapsedTime(lastTime, now).TotalSeconds;
                    rate = rate == 0 ? sample : 0.7 * rate + 0.3 * sample;
                    (lastBytes, lastTime) = (bytes, now);
                    Report(rate);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private void Report(double rate)
        {
            if (progress is null) return;
            long verified = partial.VerifiedBytes;
            TimeSpan? eta = rate > 0 ? TimeSpan.FromSeconds((partial.Size - verified) / rate) : null;
            progress.Report(new TransferProgress(verified, partial.Size, rate, Volatile.Read(ref _live), eta));
        }
    }

    private sealed class Provider(Connection connection)
    {
        private int _dead;

        public Connection Connection { get; } = connection;

        public bool Dead => Volatile.Read(ref _dead) != 0;

        /// <summary>Marks the provider dropped; true for the caller that dropped it.</summary>
        public bool Drop() => Interlocked.Exchange(ref _dead, 1) == 0;
    }
}
