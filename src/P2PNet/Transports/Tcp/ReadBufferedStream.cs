using System.Buffers;
using System.Net.Sockets;
using P2PNet.Core;

namespace P2PNet.Transports.Tcp;

/// <summary>
/// Buffers small reads of a socket stream: handshakes read a varint, then a line, then a 2-byte length,
/// each of which would otherwise be a syscall of its own. Reads at least as large as the buffer (the
/// Noise transport's) bypass it when it is empty; writes pass straight through.
/// </summary>
/// <remarks>
/// The buffer is rented only while it holds bytes: a small read first waits with a zero-byte read on the
/// socket (as Kestrel's socket transport does), rents once bytes are there and returns the buffer when a
/// read drains it, so an idle connection holds none. A zero-byte read is passed through (or completes at once
/// while bytes are buffered), so the layers above can wait the same way.
/// </remarks>
internal sealed class ReadBufferedStream : Stream, IExpectedReadStream
{
    private const int BufferSize = 4096;
    private const int MaxZeroByteWaits = 64;
    private readonly Stream _inner;
    private readonly Socket? _socket;
    private byte[]? _buffer;
    private int _start;
    private int _end;

    public ReadBufferedStream(Stream inner) => _inner = inner;

    /// <summary>Over a connected socket (owned): lets zero-byte reads tell a stale wake-up from the end of the stream.</summary>
    public ReadBufferedStream(Socket socket)
    {
        _inner = new NetworkStream(socket, ownsSocket: true);
        _socket = socket;
    }

    /// <summary>Bytes read from the socket and not yet handed out; a rented buffer exists only while this is non-zero.</summary>
    internal int BufferedBytes => _end - _start;

    /// <summary>True while a buffer is rented (tests check that an idle stream holds none).</summary>
    internal bool HoldsBuffer => _buffer is not null;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default) =>
        ReadCoreAsync(destination, waitFirst: true, cancellationToken);

    /// <summary>A read inside a frame of the layer above: bytes are on their way, so no zero-byte wait first.</summary>
    public ValueTask<int> ReadExpectedAsync(Memory<byte> destination, CancellationToken cancellationToken) =>
        ReadCoreAsync(destination, waitFirst: false, cancellationToken);

    private async ValueTask<int> ReadCoreAsync(Memory<byte> destination, bool waitFirst, CancellationToken cancellationToken)
    {
        if (_start != _end) return destination.IsEmpty ? 0 : Take(destination.Span);
        if (destination.IsEmpty)
        {
            await WaitForDataAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }
        if (destination.Length >= BufferSize) return await _inner.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
        // Wait for bytes without holding a buffer; the rent below then completes the read synchronously.
        if (waitFirst) await WaitForDataAsync(cancellationToken).ConfigureAwait(false);
        byte[] buffer = _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        int read;
        try
        {
            read = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            ReturnBuffer();
            throw;
        }
        _start = 0;
        _end = read;
        if (read == 0)
        {
            ReturnBuffer();
            return 0;
        }
        return Take(destination.Span);
    }

    /// <summary>
    /// Waits for bytes with a zero-byte read on the socket, unless some are already there. On Linux such a read
    /// often completes on a stale readiness event with nothing to read (even twice in a row while the connection
    /// is being written), which would make an idle connection rent and hold buffers at every layer; then it waits
    /// again. The end of the stream (readable, nothing to read) or an error returns, and the real read reports it.
    /// </summary>
    private async ValueTask WaitForDataAsync(CancellationToken cancellationToken)
    {
        if (_inner is not NetworkStream network)
        {
            await _inner.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            return;
        }
        try
        {
            if (network.DataAvailable) return;
            for (int attempt = 0; attempt < MaxZeroByteWaits; attempt++)
            {
                await _inner.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                if (network.DataAvailable) return;
                // Without the socket, the end of the stream cannot be told from a stale wake-up: bound the retries.
                if (_socket is null ? attempt >= 1 : _socket.Poll(0, SelectMode.SelectRead)) return;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // A failed or closed socket: the real read that follows reports it.
        }
    }

    public override int Read(Span<byte> destination)
    {
        if (_start != _end) return destination.IsEmpty ? 0 : Take(destination);
        if (destination.Length >= BufferSize || destination.IsEmpty) return _inner.Read(destination);
        byte[] buffer = _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        int read;
        try
        {
            read = _inner.Read(buffer);
        }
        catch
        {
            ReturnBuffer();
            throw;
        }
        _start = 0;
        _end = read;
        if (read == 0)
        {
            ReturnBuffer();
            return 0;
        }
        return Take(destination);
    }

    private int Take(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, n).CopyTo(destination);
        _start += n;
        if (_start == _end) ReturnBuffer();
        return n;
    }

    private void ReturnBuffer()
    {
        _start = _end = 0;
        byte[]? buffer = _buffer;
        _buffer = null;
        if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        _inner.WriteAsync(source, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => _inner.Write(buffer);

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    // The buffer is left to the GC on dispose: a read may still be in flight on another thread.
    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
