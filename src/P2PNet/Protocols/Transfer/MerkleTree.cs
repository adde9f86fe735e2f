using System.Buffers.Binary;

namespace P2PNet.Protocols.Transfer;

/// <summary>
/// The content tree, hashed with BLAKE3 (docs/transfer.md says why it beat SHA-256 here):
/// leaf i = BLAKE3(bytes of group i) over 16 KiB groups (the last one shorter; an empty file has one empty leaf);
/// node = BLAKE3(0x01 ‖ left ‖ right), pairing bottom-up level by level with an unpaired last node carried up
/// unchanged (the same shape as RFC 6962's "largest power of two on the left"); and the digest a CID names is
/// BLAKE3(0x02 ‖ u64 little-endian file size ‖ top node), so the size is committed and fixes the tree's shape.
/// Node (level L, index i) covers groups [i·2^L, min((i+1)·2^L, n)).
/// </summary>
public static class MerkleTree
{
    /// <summary>Bytes per leaf and per verified group.</summary>
    public const int GroupSize = 16 * 1024;

    /// <summary>Bytes per hash.</summary>
    public const int HashSize = 32;

    /// <summary>The hash function's name, for measurements and messages.</summary>
    internal static string HashName => "BLAKE3";

    /// <summary>Number of leaves (groups) of a file of <paramref name="size"/> bytes: at least one.</summary>
    public static long GroupCount(long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        return Math.Max(1, (size + GroupSize - 1) / GroupSize);
    }

    /// <summary>Length of group <paramref name="group"/> of a file of <paramref name="size"/> bytes.</summary>
    public static int GroupLength(long size, long group) => (int)Math.Min(GroupSize, size - group * GroupSize);

    /// <summary>Nodes on each level, leaves first, ending with the single top node.</summary>
    public static long[] LevelCounts(long size)
    {
        var counts = new List<long> { GroupCount(size) };
        while (counts[^1] > 1) counts.Add((counts[^1] + 1) / 2);
        return [.. counts];
    }

    /// <summary>Writes the hash of one leaf.</summary>
    public static void HashLeaf(ReadOnlySpan<byte> group, Span<byte> destination) =>
        Blake3.Hasher.Hash(group, destination[..HashSize]);

    /// <summary>Writes the hash of an inner node from its children.</summary>
    public static void HashNode(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[1 + 2 * HashSize];
        input[0] = 1;
        left[..HashSize].CopyTo(input[1..]);
        right[..HashSize].CopyTo(input[(1 + HashSize)..]);
        Blake3.Hasher.Hash(input, destination[..HashSize]);
    }

    /// <summary>Writes the tree digest (what the CID names) from the top node and the file size.</summary>
    public static void HashRoot(long size, ReadOnlySpan<byte> top, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[1 + 8 + HashSize];
        input[0] = 2;
        BinaryPrimitives.WriteUInt64LittleEndian(input[1..], (ulong)size);
        top[..HashSize].CopyTo(input[9..]);
        Blake3.Hasher.Hash(input, destination[..HashSize]);
    }

    /// <summary>The content id of bytes held in memory (for tests and small payloads; files go through <see cref="TreeFile"/>).</summary>
    public static ContentId ComputeId(ReadOnlySpan<byte> data)
    {
        long n = GroupCount(data.Length);
        var level = new byte[n * HashSize];
        for (long i = 0; i < n; i++)
        {
            int start = (int)(i * GroupSize);
            HashLeaf(data.Slice(start, Math.Min(GroupSize, data.Length - start)), level.AsSpan((int)(i * HashSize)));
        }
        while (n > 1)
        {
            long up = (n + 1) / 2;
            var next = new byte[up * HashSize];
            for (long i = 0; i < up; i++)
            {
                var dst = next.AsSpan((int)(i * HashSize), HashSize);
                if (2 * i + 1 < n) HashNode(level.AsSpan((int)(2 * i * HashSize)), level.AsSpan((int)((2 * i + 1) * HashSize)), dst);
                else level.AsSpan((int)(2 * i * HashSize), HashSize).CopyTo(dst);
            }
            level = next;
            n = up;
        }
        Span<byte> digest = stackalloc byte[HashSize];
        HashRoot(data.Length, level, digest);
        return new ContentId(digest);
    }
}
