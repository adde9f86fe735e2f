using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Bootstrap;

/// <summary>
/// The SQLite store: one file, created on first start, schema versioned. Writes go through one connection
/// (SQLite has one writer anyway) with prepared statements; reads use pooled connections (WAL lets them run
/// beside the writer). Every statement is parameterized. The block list is mirrored in memory.
/// Registrations are group-committed: <see cref="UpsertAsync"/> queues the row (bounded queue) and one writer loop
/// takes whatever is queued (up to <see cref="MaxUpsertBatch"/>), upserts it in one transaction, commits, and only
/// then completes each caller's task, so that every registration is answered after its row is committed while a
/// burst of them costs one commit rather than one each.
/// </summary>
internal sealed class PeerStore : IAsyncDisposable
{
    /// <summary>The schema this code writes; a newer file is refused rather than misread.</summary>
    public const int SchemaVersion = 1;

    /// <summary>Most rows one admin listing returns.</summary>
    public const int MaxListRows = 1000;

    /// <summary>Peers considered per sample window (a random window keeps the query cost flat with 100k rows).</summary>
    private const int SampleWindow = 512;

    /// <summary>Most registrations committed in one transaction.</summary>
    public const int MaxUpsertBatch = 256;

    /// <summary>Most registrations waiting for the writer; further callers wait for room.</summary>
    public const int MaxQueuedUpserts = 4096;

    /// <summary>A registration waiting for the writer loop, and its caller's task.</summary>
    private sealed class PendingUpsert(string peerId, string addresses, string network, long now, long timestamp, string? remoteIp)
    {
        public string PeerId { get; } = peerId;
        public string Addresses { get; } = addresses;
        public string Network { get; } = network;
        public long Now { get; } = now;
        public long Timestamp { get; } = timestamp;
        public string? RemoteIp { get; } = remoteIp;
        public TaskCompletionSource<RegistrationOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Channel<PendingUpsert> _upserts = Channel.CreateBounded<PendingUpsert>(
        new BoundedChannelOptions(MaxQueuedUpserts) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private Task _upsertLoop = Task.CompletedTask;
    private readonly string _connectionString;
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly ConcurrentDictionary<string, long> _blocked = new(StringComparer.Ordinal);
    private SqliteConnection? _writer;
    private SqliteCommand? _upsert;
    private int _disposed;

    public PeerStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true, DefaultTimeout = 10 }.ToString();
    }

    public string Path { get; }

    /// <summary>Blocked PeerIds with the time they were blocked (Unix ms).</summary>
    public IReadOnlyDictionary<string, long> Blocked => _blocked;

    public async Task OpenAsync(CancellationToken cancellationToken = default)
    {
        string? dir = System.IO.Path.GetDirectoryName(Path);
        if (dir is not null) Directory.CreateDirectory(dir);
        _writer = new SqliteConnection(_connectionString);
        await _writer.OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(_writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;", cancellationToken).ConfigureAwait(false);
        await MigrateAsync(_writer, cancellationToken).ConfigureAwait(false);

        _upsert = _writer.CreateCommand();
        // The WHERE clause is the replay guard: a row changes only for a strictly newer signed timestamp.
        _upsert.CommandText = """
            INSERT INTO peers (peer_id, addresses, network, first_seen, last_seen, last_timestamp, remote_ip)
            VALUES ($id, $addresses, $network, $now, $now, $ts, $ip)
            ON CONFLICT(peer_id) DO UPDATE SET addresses = excluded.addresses, network = excluded.network,
                last_seen = excluded.last_seen, last_timestamp = excluded.last_timestamp, remote_ip = excluded.remote_ip
            WHERE excluded.last_timestamp > peers.last_timestamp
            """;
        foreach (string name in (string[])["$id", "$addresses", "$network", "$now", "$ts", "$ip"]) _upsert.Parameters.Add(new SqliteParameter(name, null));
        _upsert.Prepare();

        await using (var read = _writer.CreateCommand())
        {
            read.CommandText = "SELECT peer_id, blocked_at FROM blocked";
            await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) _blocked[reader.GetString(0)] = reader.GetInt64(1);
        }
        _upsertLoop = UpsertLoopAsync();
    }

    public bool IsBlocked(string peerId) => _blocked.ContainsKey(peerId);

    /// <summary>
    /// Stores a verified registration (a newer signed timestamp replaces the row; an older or equal one is
    /// <see cref="RegistrationOutcome.Replayed"/>). Completes once the transaction holding the row is committed.
    /// Cancelling stops the wait; a row already queued is still written.
    /// </summary>
    public async Task<RegistrationOutcome> UpsertAsync(BootstrapRegistration registration, long now, string? remoteIp, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_upsert is null) throw new InvalidOperationException("store not open");
        string addresses = JsonSerializer.Serialize(registration.Addresses, ServerJsonContext.Default.IReadOnlyListString);
        var pending = new PendingUpsert(registration.PeerId, addresses, registration.Network, now, registration.Timestamp, remoteIp);
        try
        {
            await _upserts.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new ObjectDisposedException(nameof(PeerStore), ex);
        }
        return await pending.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    // The one writer of registrations: takes what is queued, commits it as one transaction, then answers each caller.
    private async Task UpsertLoopAsync()
    {
        var reader = _upserts.Reader;
        var batch = new List<PendingUpsert>(MaxUpsertBatch);
        var outcomes = new RegistrationOutcome[MaxUpsertBatch];
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxUpsertBatch && reader.TryRead(out var next)) batch.Add(next);
            await _write.WaitAsync().ConfigureAwait(false);
            try
            {
                CommitBatch(batch, outcomes);
            }
            catch (Exception ex) when ((ex is SqliteException or InvalidOperationException) && batch.Count > 1)
            {
                // One bad row must not fail the others: write each alone, each answered by its own commit.
                foreach (var one in batch)
                {
                    try
                    {
                        CommitBatch([one], outcomes);
                        one.Done.TrySetResult(outcomes[0]);
                    }
                    catch (Exception single) when (single is SqliteException or InvalidOperationException)
                    {
                        one.Done.TrySetException(single);
                    }
                }
                batch.Clear();
                continue;
            }
            catch (Exception ex) when (ex is SqliteException or InvalidOperationException)
            {
                foreach (var one in batch) one.Done.TrySetException(ex);
                batch.Clear();
                continue;
            }
            finally
            {
                _write.Release();
            }
            // Committed: only now does any caller learn its outcome.
            for (int i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(outcomes[i]);
            batch.Clear();
        }
    }

    /// <summary>Upserts <paramref name="batch"/> in one transaction and commits it (under <c>_write</c>); rolls back on failure.</summary>
    private void CommitBatch(List<PendingUpsert> batch, RegistrationOutcome[] outcomes)
    {
        var writer = _writer ?? throw new InvalidOperationException("store not open");
        var command = _upsert ?? throw new InvalidOperationException("store not open");
        using var transaction = writer.BeginTransaction();
        command.Transaction = transaction;
        try
        {
            for (int i = 0; i < batch.Count; i++)
            {
                var row = batch[i];
                command.Parameters[0].Value = row.PeerId;
                command.Parameters[1].Value = row.Addresses;
                command.Parameters[2].Value = row.Network;
                command.Parameters[3].Value = row.Now;
                command.Parameters[4].Value = row.Timestamp;
                command.Parameters[5].Value = (object?)row.RemoteIp ?? DBNull.Value;
                outcomes[i] = command.ExecuteNonQuery() == 0 ? RegistrationOutcome.Replayed : RegistrationOutcome.Accepted;
            }
            transaction.Commit();
        }
        finally
        {
            command.Transaction = null;
        }
    }

    /// <summary>A random sample of live, unblocked peers of a network, without <paramref name="exclude"/>.</summary>
    public async Task<List<BootstrapPeerRecord>> SampleAsync(string network, string? exclude, int count, long cutoff, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        long maxRowId;
        await using (var max = connection.CreateCommand())
        {
            max.CommandText = "SELECT coalesce(max(rowid), 0) FROM peers";
            maxRowId = (long)(await max.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) ?? 0L);
        }
        long start = maxRowId <= SampleWindow ? 0 : Random.Shared.NextInt64(0, maxRowId + 1);
        var result = new List<BootstrapPeerRecord>(count);
        await using var command = connection.CreateCommand();
        // A random window of rowids, shuffled; wrap around to the start when the window runs off the end.
        command.CommandText = """
            SELECT peer_id, addresses, last_seen FROM (
                SELECT peer_id, addresses, last_seen FROM peers
                WHERE network = $network AND last_seen >= $cutoff AND rowid >= $start AND rowid < $end AND peer_id <> $exclude
                ORDER BY rowid LIMIT $window)
            ORDER BY random() LIMIT $count
            """;
        var pStart = command.Parameters.AddWithValue("$start", start);
        var pEnd = command.Parameters.AddWithValue("$end", long.MaxValue);
        command.Parameters.AddWithValue("$network", network);
        command.Parameters.AddWithValue("$cutoff", cutoff);
        command.Parameters.AddWithValue("$exclude", exclude ?? "");
        command.Parameters.AddWithValue("$window", SampleWindow);
        var pCount = command.Parameters.AddWithValue("$count", count);
        await ReadSampleAsync(command, result, cancellationToken).ConfigureAwait(false);
        if (result.Count < count && start > 0)
        {
            pStart.Value = 0L;
            pEnd.Value = start;
            pCount.Value = count - result.Count;
            await ReadSampleAsync(command, result, cancellationToken).ConfigureAwait(false);
        }
        return result;
    }

    public async Task<long> CountAsync(long cutoff, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM peers WHERE last_seen >= $cutoff";
        command.Parameters.AddWithValue("$cutoff", cutoff);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) ?? 0L);
    }

    public async Task<List<StoredPeer>> ListAsync(long cutoff, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT peer_id, network, addresses, first_seen, last_seen, remote_ip FROM peers
            WHERE last_seen >= $cutoff ORDER BY last_seen DESC LIMIT $limit
            """;
        command.Parameters.AddWithValue("$cutoff", cutoff);
        command.Parameters.AddWithValue("$limit", Math.Clamp(limit, 1, MaxListRows));
        var result = new List<StoredPeer>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            string id = reader.GetString(0);
            result.Add(new StoredPeer
            {
                PeerId = id,
                Network = reader.GetString(1),
                Addresses = ParseAddresses(reader.GetString(2)),
                FirstSeen = reader.GetInt64(3),
                LastSeen = reader.GetInt64(4),
                RemoteIp = reader.IsDBNull(5) ? null : reader.GetString(5),
                Blocked = _blocked.ContainsKey(id),
            });
        }
        return result;
    }

    public async Task<int> DeleteExpiredAsync(long cutoff, CancellationToken cancellationToken = default) =>
        await WriteAsync("DELETE FROM peers WHERE last_seen < $p0", [cutoff], cancellationToken).ConfigureAwait(false);

    public async Task<bool> BlockAsync(string peerId, long now, CancellationToken cancellationToken = default)
    {
        int changed = await WriteAsync("INSERT INTO blocked (peer_id, blocked_at) VALUES ($p0, $p1) ON CONFLICT(peer_id) DO NOTHING", [peerId, now], cancellationToken).ConfigureAwait(false);
        _blocked.TryAdd(peerId, now);
        return changed > 0;
    }

    public async Task<bool> UnblockAsync(string peerId, CancellationToken cancellationToken = default)
    {
        int changed = await WriteAsync("DELETE FROM blocked WHERE peer_id = $p0", [peerId], cancellationToken).ConfigureAwait(false);
        _blocked.TryRemove(peerId, out _);
        return changed > 0;
    }

    public Task LogAdminAsync(string action, string? target, string? clientIp, long now, CancellationToken cancellationToken = default) =>
        WriteAsync("INSERT INTO admin_log (at, action, target, client_ip) VALUES ($p0, $p1, $p2, $p3)", [now, action, target, clientIp], cancellationToken);

    public async Task<List<AdminLogEntry>> ReadAdminLogAsync(int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT at, action, target, client_ip FROM admin_log ORDER BY id DESC LIMIT $limit";
        command.Parameters.AddWithValue("$limit", Math.Clamp(limit, 1, MaxListRows));
        var result = new List<AdminLogEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new AdminLogEntry
            {
                At = reader.GetInt64(0),
                Action = reader.GetString(1),
                Target = reader.IsDBNull(2) ? null : reader.GetString(2),
                ClientIp = reader.IsDBNull(3) ? null : reader.GetString(3),
            });
        }
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // Registrations already queued are committed and answered before the connection closes.
        _upserts.Writer.TryComplete();
        await _upsertLoop.ConfigureAwait(false);
        await _write.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_upsert is not null) await _upsert.DisposeAsync().ConfigureAwait(false);
            if (_writer is not null) await _writer.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _write.Release();
        }
        // Release the pooled reader connections so the file can be reopened or deleted at once.
        SqliteConnection.ClearAllPools();
        _write.Dispose();
    }

    private static List<string> ParseAddresses(string json)
    {
        try
        {
            return [.. JsonSerializer.Deserialize(json, ServerJsonContext.Default.IReadOnlyListString) ?? []];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static async Task ReadSampleAsync(SqliteCommand command, List<BootstrapPeerRecord> result, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            result.Add(new BootstrapPeerRecord { PeerId = reader.GetString(0), Addresses = ParseAddresses(reader.GetString(1)), LastSeen = reader.GetInt64(2) });
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private async Task<int> WriteAsync(string sql, object?[] values, CancellationToken cancellationToken)
    {
        await _write.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var writer = _writer ?? throw new InvalidOperationException("store not open");
            await using var command = writer.CreateCommand();
            command.CommandText = sql;
            for (int i = 0; i < values.Length; i++) command.Parameters.AddWithValue("$p" + i, values[i] ?? DBNull.Value);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _write.Release();
        }
    }

    private static async Task MigrateAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", cancellationToken).ConfigureAwait(false);
        long version;
        await using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT coalesce(max(version), 0) FROM schema_version";
            version = (long)(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) ?? 0L);
        }
        if (version > SchemaVersion)
            throw new InvalidOperationException($"database schema version {version} is newer than this server's {SchemaVersion}; refusing to use it");
        if (version == SchemaVersion) return;
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var create = connection.CreateCommand())
        {
            create.Transaction = transaction;
            create.CommandText = """
                CREATE TABLE peers (
                    peer_id TEXT PRIMARY KEY,
                    addresses TEXT NOT NULL,
                    network TEXT NOT NULL,
                    first_seen INTEGER NOT NULL,
                    last_seen INTEGER NOT NULL,
                    last_timestamp INTEGER NOT NULL,
                    remote_ip TEXT);
                CREATE INDEX peers_network ON peers (network);
                CREATE INDEX peers_last_seen ON peers (last_seen);
                CREATE TABLE blocked (peer_id TEXT PRIMARY KEY, blocked_at INTEGER NOT NULL);
                CREATE TABLE admin_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, action TEXT NOT NULL, target TEXT, client_ip TEXT);
                INSERT INTO schema_version (version) VALUES (1);
                """;
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
