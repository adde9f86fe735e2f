using System.Buffers;

namespace P2PNet.Protocols.Transfer;

/// <summary>
/// The tree nodes one request's walk sends, held in memory for the request: per level below the top a window of
/// nodes (a cached level of the <see cref="TreeFile"/>, or a slice of one pooled buffer), and the top node.
/// </summary>
internal sealed class RangeProofs : IDisposable
{
    private readonly byte[]?[] _levels;
    private readonly int[] _offsets;
    private readonly long[] _bases;
    private readonly byte[] _top;
    private byte[]? _rented;

    public RangeProofs(int top, byte[] topLevel, byte[]? rented)
    {
        _levels = new byte[top][];
        _offsets = new int[top];
        _bases = new long[top];
        _top = topLevel;
        _rented = rented;
    }

    /// <summary>The top node.</summary>
    public ReadOnlySpan<byte> Top => _top.AsSpan(0, MerkleTree.HashSize);

    public void SetLevel(int level, byte[] buffer, int offset, long firstIndex)
    {
        _levels[level] = buffer;
        _offsets[level] = offset;
        _bases[level] = firstIndex;
    }

    /// <summary>The two siblings starting at (<paramref name="level"/>, <paramref name="index"/>).</summary>
    public ReadOnlySpan<byte> Pair(int level, long index) =>
        _levels[level].AsSpan(_offsets[level] + (int)((index - _bases[level]) * MerkleTree.HashSize), 2 * MerkleTree.HashSize);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _rented, null) is { } rented) ArrayPool<byte>.Shared.Return(rented);
    }
}
