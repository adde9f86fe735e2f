using System.Buffers;
using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace P2PNet.Protocols.Transfer;

/// <summary>
/// A file's <see cref="MerkleTree"/> stored on disk, computed once when the file is shared so that serving reads
/// proof nodes instead of rehashing. Layout: an 8-byte magic, the file size and last-write time it was computed
/// for, the digest, then every level from the leaves up (32 bytes per node). Building streams the file and each
/// level, so memory stays small whatever the file size.
/// </summary>
public sealed class TreeFile : IDisposable
{
    /// <summary>Suffix of a tree kept beside its file.</summary>
    public const string Suffix = ".p2pnet-tree";

    private const int HeaderSize = 8 + 8 + 8 + MerkleTree.HashSize;
    private static ReadOnlySpan<byte> Magic => "P2PTREE1"u8;

    private readonly SafeFileHandle _handle;
    private readonly long[] _levelOffsets;

    private TreeFile(SafeFileHandle handle, long size, ContentId id)
    {
        _handle = handle;
        Size = size;
        Id = id;
        long[] counts = MerkleTree.LevelCounts(size);
        LevelCounts = counts;
        _levelOffsets = new long[counts.Length];
        long offset = HeaderSize;
        for (int l = 0; l < counts.Length; l++)
        {
            _levelOffsets[l] = offset;
            offset += counts[l] * MerkleTree.HashSize;
        }
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
        int read = await RandomAccess.ReadAsync(_handle, destination, _levelOffsets[level] + index * MerkleTree.HashSize, cancellationToken).ConfigureAwait(false);
        if (read != destination.Length) throw new IOException("the tree file is truncated");
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();

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
                if (RandomAccess.GetLength(handle) == expected) return tree;
            }
        }
        catch (IOException)
        {
        }
        handle.Dispose();
        return null;
    }

    // Leaves from the data file, then each level from the one below, all through small pooled buffers.
    private static async Task<byte[]> BuildAsync(string dataPath, SafeFileHandle tree, long size, long[] counts, CancellationToken ct)
    {
        const int LeavesPerRead = 64;
        byte[] data = ArrayPool<byte>.Shared.Rent(LeavesPerRead * MerkleTree.GroupSize);
        byte[] hashes = ArrayPool<byte>.Shared.Rent(2 * LeavesPerRead * MerkleTree.HashSize);
        try
        {
            long levelOffset = HeaderSize;
            using (var source = File.OpenHandle(dataPath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous | FileOptions.SequentialScan))
            {
                for (long leaf = 0, offset = 0; leaf < counts[0]; leaf += LeavesPerRead)
                {
                    int want = (int)Math.Min((long)LeavesPerRead * MerkleTree.GroupSize, size - offset);
                    int got = want == 0 ? 0 : await RandomAccess.ReadAsync(source, data.AsMemory(0, want), offset, ct).ConfigureAwait(false);
                    while (got < want)
                    {
                        int more = await RandomAccess.ReadAsync(source, data.AsMemory(got, want - got), offset + got, ct).ConfigureAwait(false);
                        if (more == 0) throw new IOException($"{dataPath} shrank while it was being hashed");
                        got += more;
                    }
                    int leaves = (int)Math.Min(LeavesPerRead, counts[0] - leaf);
                    // Leaves are independent: hash them on every core (the point of a tree over one long hash).
                    Parallel.For(0, leaves, new ParallelOptions { CancellationToken = ct }, j =>
                    {
                        int start = j * MerkleTree.GroupSize;
                        MerkleTree.HashLeaf(data.AsSpan(start, Math.Min(MerkleTree.GroupSize, want - start)), hashes.AsSpan(j * MerkleTree.HashSize));
                    });
                    await RandomAccess.WriteAsync(tree, hashes.AsMemory(0, leaves * MerkleTree.HashSize), levelOffset + leaf * MerkleTree.HashSize, ct).ConfigureAwait(false);
                    offset += want;
                }
            }
            for (int level = 1; level < counts.Length; level++)
            {
                long below = levelOffset;
                levelOffset += counts[level - 1] * MerkleTree.HashSize;
                for (long i = 0; i < counts[level]; i += LeavesPerRead)
                {
                    int parents = (int)Math.Min(LeavesPerRead, counts[level] - i);
                    int children = (int)Math.Min(2L * parents, counts[level - 1] - 2 * i);
                    int bytes = children * MerkleTree.HashSize;
                    if (await RandomAccess.ReadAsync(tree, hashes.AsMemory(0, bytes), below + 2 * i * MerkleTree.HashSize, ct).ConfigureAwait(false) != bytes)
                        throw new IOException("the tree file lost a level while it was being written");
                    for (int p = 0; p < parents; p++)
                    {
                        var left = hashes.AsSpan(2 * p * MerkleTree.HashSize, MerkleTree.HashSize);
                        var dst = data.AsSpan(p * MerkleTree.HashSize, MerkleTree.HashSize);
                        if (2 * p + 1 < children) MerkleTree.HashNode(left, hashes.AsSpan((2 * p + 1) * MerkleTree.HashSize), dst);
                        else left.CopyTo(dst);
                    }
                    await RandomAccess.WriteAsync(tree, data.AsMemory(0, parents * MerkleTree.HashSize), levelOffset + i * MerkleTree.HashSize, ct).ConfigureAwait(false);
                }
            }
            byte[] top = new byte[MerkleTree.HashSize];
            if (await RandomAccess.ReadAsync(tree, top, levelOffset, ct).ConfigureAwait(false) != top.Length) throw new IOException("the tree file has no top node");
            return top;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
            ArrayPool<byte>.Shared.Return(hashes);
        }
    }
}
