using System.Buffers;
using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace P2PNet.Protocols.Transfer;

/// <summary>
/// A file's <see cref="MerkleTree"/> stored on disk, computed once when the file is shared so that serving reads
/// proof nodes instead of rehashing. Layout: an 8-byte magic, the file size and last-write time it was computed
/// for, the digest, then every level from the leaves up (32 bytes per node). Building streams the file and writes
/// each level as its nodes appear, so memory stays small whatever the file size. The upper levels (at most
/// <see cref="CachedLevelNodes"/> nodes each) stay in memory while the tree is open, because every request's proof
/// passes through them; a request reads the lower levels it needs with one read per level.
/// </summary>
public sealed class TreeFile : IDisposable
{
    /// <summary>Suffix of a tree kept beside its file.</summary>
    public const string Suffix = ".p2pnet-tree";

    /// <summary>Levels of at most this many nodes (128 KiB) are held in memory while the tree is open.</summary>
    internal const int CachedLevelNodes = 4096;

    private const int HeaderSize = 8 + 8 + 8 + MerkleTree.HashSize;
    private const int LeavesPerRead = 256; // 4 MiB of data per read while building
    private static ReadOnlySpan<byte> Magic => "P2PTREE1"u8;

    private readonly SafeFileHandle _handle;
    private readonly long[] _levelOffsets;
    private readonly long[] _counts;
    private readonly byte[]?[] _cached;

    private TreeFile(SafeFileHandle handle, long size, ContentId id)
    {
        _handle = handle;
        Size = size;
        Id = id;
        long[] counts = MerkleTree.LevelCounts(size);
        _counts = counts;
        LevelCounts = counts;
        _levelOffsets = LevelOffsets(counts);
        _cached = new byte[counts.Length][];
    }

    /// <summary>Size of the file the tree describes.</summary>
    public long Size { get; }

    /// <summary>The file's content id.</summary>
    public ContentId Id { get; }

    /// <summary>Nodes per level, leaves first.</summary>
    public IReadOnlyList<long> LevelCounts { get; }

    /// <summary>
    /// Opens the tree at <paramref name="treePath"/> when it was computed for the file as it is now (same size and
    /// last-write time), else hashes <paramref name="dataPath"/> and writes it there.
    /// </summary>
    public static async Task<TreeFile> CreateOrOpenAsync(string dataPath, string treePath, CancellationToken cancellationToken = default)
    {
        var info = new FileInfo(dataPath);
        if (!info.Exists) throw new FileNotFoundException("no such file", dataPath);
        long size = info.Length;
        long stamp = info.LastWriteTimeUtc.Ticks;
        if (TryOpen(treePath, size, stamp) is { } existing) return existing;

        // A name of its own, so two processes sharing one file at once do not write into each other's tree.
        string temp = $"{treePath}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        var handle = File.OpenHandle(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, FileOptions.Asynchronous);
        try
        {
            var counts = MerkleTree.LevelCounts(size);
            byte[] header = new byte[HeaderSize];
            byte[] top = await BuildAsync(dataPath, handle, size, counts, cancellationToken).ConfigureAwait(false);
            Magic.CopyTo(header);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), size);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), stamp);
            MerkleTree.HashRoot(size, top, header.AsSpan(24));
            await RandomAccess.WriteAsync(handle, header, 0, cancellationToken).ConfigureAwait(false);
            handle.Dispose();
            File.Move(temp, treePath, overwrite: true);
        }
        catch
        {
            handle.Dispose();
            File.Delete(temp);
            throw;
        }
        return TryOpen(treePath, size, stamp) ?? throw new IOException($"the tree written to {treePath} does not read back");
    }

    /// <summary>Reads the node at (<paramref name="level"/>, <paramref name="index"/>), or the two siblings starting there when <paramref name="destination"/> is 64 bytes.</summary>
    public async ValueTask ReadAsync(int level, long index, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (_cached[level] is { } cached)
        {
            cached.AsMemory((int)(index * MerkleTree.HashSize), destination.Length).CopyTo(destination);
            return;
        }
        await ReadExactlyAsync(_handle, destination, _levelOffsets[level] + index * MerkleTree.HashSize, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The nodes a walk over groups [<paramref name="firstGroup"/>, +<paramref name="groupCount"/>) sends: on each
    /// level below the top, the children of the nodes that cover the range. Cached levels are used in place, the
    /// others are read with one read per level into one pooled buffer that the result returns on dispose.
    /// </summary>
    internal async ValueTask<RangeProofs> ReadProofsAsync(long firstGroup, long groupCount, CancellationToken cancellationToken)
    {
        int top = _counts.Length - 1;
        var spans = new (long Base, long Count)[top];
        long bytes = 0;
        for (int l = 0; l < top; l++)
        {
            long lo = (firstGroup >> (l + 1)) * 2;
            long hi = Math.Min((((firstGroup + groupCount - 1) >> (l + 1)) + 1) * 2, _counts[l]);
            spans[l] = (lo, hi - lo);
            if (_cached[l] is null) bytes += (hi - lo) * MerkleTree.HashSize;
        }
        byte[]? rented = bytes == 0 ? null : ArrayPool<byte>.Shared.Rent((int)bytes);
        var proofs = new RangeProofs(top, _cached[top]!, rented);
        try
        {
            int offset = 0;
            for (int l = 0; l < top; l++)
            {
                if (_cached[l] is { } cached)
                {
                    proofs.SetLevel(l, cached, 0, 0);
                    continue;
                }
                int length = (int)(spans[l].Count * MerkleTree.HashSize);
                await ReadExactlyAsync(_handle, rented.AsMemory(offset, length), _levelOffsets[l] + spans[l].Base * MerkleTree.HashSize, cancellationToken).ConfigureAwait(false);
                proofs.SetLevel(l, rented!, offset, spans[l].Base);
                offset += length;
            }
            return proofs;
        }
        catch
        {
            proofs.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();

    private static long[] LevelOffsets(long[] counts)
    {
        var offsets = new long[counts.Length];
        long offset = HeaderSize;
        for (int l = 0; l < counts.Length; l++)
        {
            offsets[l] = offset;
            offset += counts[l] * MerkleTree.HashSize;
        }
        return offsets;
    }

    private static async ValueTask ReadExactlyAsync(SafeFileHandle handle, Memory<byte> destination, long offset, CancellationToken cancellationToken)
    {
        while (!destination.IsEmpty)
        {
            int read = await RandomAccess.ReadAsync(handle, destination, offset, cancellationToken).ConfigureAwait(false);
            if (read == 0) throw new IOException("the tree file is truncated");
            destination = destination[read..];
            offset += read;
        }
    }

    private static TreeFile? TryOpen(string treePath, long size, long stamp)
    {
        if (!File.Exists(treePath)) return null;
        var handle = File.OpenHandle(treePath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        try
        {
            Span<byte> header = stackalloc byte[HeaderSize];
            if (RandomAccess.Read(handle, header, 0) == HeaderSize && header[..8].SequenceEqual(Magic)
                && BinaryPrimitives.ReadInt64LittleEndian(header[8..]) == size
                && BinaryPrimitives.ReadInt64LittleEndian(header[16..]) == stamp)
            {
                var tree = new TreeFile(handle, size, new ContentId(header[24..]));
                long expected = tree._levelOffsets[^1] + MerkleTree.HashSize;
                if (RandomAccess.GetLength(handle) == expected && tree.LoadUpperLevels()) return tree;
            }
        }
        catch (IOException)
        {
        }
        handle.Dispose();
        return null;
    }

    // The levels every request's proof passes through, read once: at most CachedLevelNodes nodes each, so their sum is
    // under 2 x 128 KiB whatever the file size.
    private bool LoadUpperLevels()
    {
        for (int l = _counts.Length - 1; l >= 0 && _counts[l] <= CachedLevelNodes; l--)
        {
            byte[] level = new byte[_counts[l] * MerkleTree.HashSize];
            if (RandomAccess.Read(_handle, level, _levelOffsets[l]) != level.Length) return false;
            _cached[l] = level;
        }
        return true;
    }

    // Reads the data 4 MiB at a time (the next read runs while this one is hashed), hashes the leaves of each read on
    // every core, writes them, and folds each new node into the levels above as it appears (Builder), so nothing is
    // read back and memory is a few pooled buffers whatever the file size.
    private static async Task<byte[]> BuildAsync(string dataPath, SafeFileHandle tree, long size, long[] counts, CancellationToken ct)
    {
        const int ChunkBytes = LeavesPerRead * MerkleTree.GroupSize;
        byte[] current = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        byte[] next = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        byte[] hashes = ArrayPool<byte>.Shared.Rent(LeavesPerRead * MerkleTree.HashSize);
        var builder = new Builder(tree, counts, LevelOffsets(counts));
        try
        {
            using var source = File.OpenHandle(dataPath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous | FileOptions.SequentialScan);
            int Want(long offset) => (int)Math.Min(ChunkBytes, size - offset);
            Task<int> pending = FillAsync(source, current, Want(0), 0, dataPath, ct);
            for (long leaf = 0, offset = 0; leaf < counts[0]; leaf += LeavesPerRead)
            {
                int want = await pending.ConfigureAwait(false);
                byte[] chunk = current;
                long nextOffset = offset + want;
                if (nextOffset < size) pending = FillAsync(source, next, Want(nextOffset), nextOffset, dataPath, ct);
                (current, next) = (next, current);
                int leaves = (int)Math.Min(LeavesPerRead, counts[0] - leaf);
                HashLeaves(chunk, want, leaves, hashes, ct);
                await builder.AddLeavesAsync(leaf, hashes.AsMemory(0, leaves * MerkleTree.HashSize), ct).ConfigureAwait(false);
                offset = nextOffset;
            }
            return await builder.FinishAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            builder.Dispose();
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(next);
            ArrayPool<byte>.Shared.Return(hashes);
        }
    }

    private static async Task<int> FillAsync(SafeFileHandle source, byte[] buffer, int want, long offset, string dataPath, CancellationToken ct)
    {
        int got = 0;
        while (got < want)
        {
            int more = await RandomAccess.ReadAsync(source, buffer.AsMemory(got, want - got), offset + got, ct).ConfigureAwait(false);
            if (more == 0) throw new IOException($"{dataPath} shrank while it was being hashed");
            got += more;
        }
        return want;
    }

    // Leaves are independent: one contiguous slice of them per core (the point of a tree over one long hash). One-shot
    // Hasher.Hash per leaf: a 16 KiB leaf is 16 BLAKE3 chunks, which the package hashes side by side.
    private static void HashLeaves(byte[] data, int length, int leaves, byte[] hashes, CancellationToken ct)
    {
        int parts = Math.Min(Environment.ProcessorCount, Math.Max(1, leaves / 16));
        if (parts <= 1)
        {
            HashSlice(data, length, hashes, 0, leaves);
            return;
        }
        Parallel.For(0, parts, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = parts }, p =>
            HashSlice(data, length, hashes, (int)((long)leaves * p / parts), (int)((long)leaves * (p + 1) / parts)));
    }

    private static void HashSlice(byte[] data, int length, byte[] hashes, int from, int to)
    {
        for (int j = from; j < to; j++)
        {
            int start = j * MerkleTree.GroupSize;
            MerkleTree.HashLeaf(data.AsSpan(start, Math.Min(MerkleTree.GroupSize, length - start)), hashes.AsSpan(j * MerkleTree.HashSize));
        }
    }

    /// <summary>
    /// Folds nodes into the levels above as they arrive: a node waits on its level until its right sibling comes, then
    /// their parent goes up; at the end a last node without a sibling is carried up unchanged (RFC 6962's shape, the
    /// same tree as pairing level by level). Inner levels are written in 4 KiB runs at their final offsets.
    /// </summary>
    private sealed class Builder(SafeFileHandle tree, long[] counts, long[] offsets) : IDisposable
    {
        private const int FlushNodes = 128;
        private readonly byte[] _pending = new byte[counts.Length * MerkleTree.HashSize];
        private readonly bool[] _hasPending = new bool[counts.Length];
        private readonly long[] _next = new long[counts.Length];
        private readonly byte[]?[] _buffers = new byte[counts.Length][];
        private readonly int[] _buffered = new int[counts.Length];
        private readonly byte[] _top = new byte[MerkleTree.HashSize];

        private int Top => counts.Length - 1;

        public async ValueTask AddLeavesAsync(long firstLeaf, ReadOnlyMemory<byte> hashes, CancellationToken ct)
        {
            await RandomAccess.WriteAsync(tree, hashes, offsets[0] + firstLeaf * MerkleTree.HashSize, ct).ConfigureAwait(false);
            for (int o = 0; o < hashes.Length; o += MerkleTree.HashSize) Add(0, hashes.Span.Slice(o, MerkleTree.HashSize));
            await FlushAsync(FlushNodes, ct).ConfigureAwait(false);
        }

        public async ValueTask<byte[]> FinishAsync(CancellationToken ct)
        {
            for (int l = 0; l < Top; l++)
            {
                if (!_hasPending[l]) continue;
                _hasPending[l] = false;
                Add(l + 1, _pending.AsSpan(l * MerkleTree.HashSize, MerkleTree.HashSize).ToArray());
            }
            await FlushAsync(1, ct).ConfigureAwait(false);
            for (int l = 0; l < counts.Length; l++)
                if (_next[l] != counts[l]) throw new InvalidOperationException($"tree level {l} has {_next[l]} nodes, expected {counts[l]}");
            return _top;
        }

        public void Dispose()
        {
            foreach (var buffer in _buffers)
                if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
        }

        private void Add(int level, ReadOnlySpan<byte> node)
        {
            if (level > 0)
            {
                var buffer = _buffers[level] ??= ArrayPool<byte>.Shared.Rent(4 * FlushNodes * MerkleTree.HashSize);
                node.CopyTo(buffer.AsSpan(_buffered[level]++ * MerkleTree.HashSize));
            }
            _next[level]++;
            if (level == Top)
            {
                node.CopyTo(_top);
                return;
            }
            var pending = _pending.AsSpan(level * MerkleTree.HashSize, MerkleTree.HashSize);
            if (!_hasPending[level])
            {
                node.CopyTo(pending);
                _hasPending[level] = true;
                return;
            }
            _hasPending[level] = false;
            Span<byte> parent = stackalloc byte[MerkleTree.HashSize];
            MerkleTree.HashNode(pending, node, parent);
            Add(level + 1, parent);
        }

        // Writes the levels holding at least minNodes buffered nodes (they are consecutive: the last ones added).
        private async ValueTask FlushAsync(int minNodes, CancellationToken ct)
        {
            for (int l = 1; l < counts.Length; l++)
            {
                int n = _buffered[l];
                if (n < minNodes || n == 0) continue;
                long first = _next[l] - n;
                await RandomAccess.WriteAsync(tree, _buffers[l].AsMemory(0, n * MerkleTree.HashSize), offsets[l] + first * MerkleTree.HashSize, ct).ConfigureAwait(false);
                _buffered[l] = 0;
            }
        }
    }
}
