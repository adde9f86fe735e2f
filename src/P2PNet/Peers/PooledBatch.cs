using System.Buffers;

namespace P2PNet.Peers;

/// <summary>
/// The write loop's batch: an <see cref="IBufferWriter{T}"/> over an array rented from <see cref="ArrayPool{T}.Shared"/>
/// on first use and given back by <see cref="Release"/>, so that an idle channel holds no batch buffer.
/// Not thread-safe (one per write loop).
/// </summary>
internal sealed class PooledBatch : IBufferWriter<byte>, IDisposable
{
    private const int MinimumSize = 4096;
    private byte[]? _buffer;
    private int _written;

    /// <summary>Arrays rented so far (the first and every growth), for tests.</summary>
    internal int Rents { get; private set; }

    /// <summary>Bytes written since the last <see cref="Release"/>.</summary>
    public int WrittenCount => _written;

    /// <summary>The bytes written.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (_buffer is null || _written + count > _buffer.Length) throw new InvalidOperationException("advanced past the buffer");
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => Ensure(sizeHint).AsMemory(_written);

    public Span<byte> GetSpan(int sizeHint = 0) => Ensure(sizeHint).AsSpan(_written);

    /// <summary>Forgets what was written, keeping the array (unless an unusually large packet grew it).</summary>
    public void Reset()
    {
        if (_buffer is { Length: > 1024 * 1024 }) Release();
        _written = 0;
    }

    /// <summary>Forgets what was written and returns the array to the pool.</summary>
    public void Release()
    {
        _written = 0;
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose() => Release();

    private byte[] Ensure(int sizeHint)
    {
        int needed = _written + Math.Max(sizeHint, 1);
        if (_buffer is { } buffer && buffer.Length >= needed) return buffer;
        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(MinimumSize, (_buffer?.Length ?? 0) * 2)));
        Rents++;
        if (_buffer is { } old)
        {
            old.AsSpan(0, _written).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(old);
        }
        _buffer = larger;
        return larger;
    }
}
