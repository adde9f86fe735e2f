using System.Buffers;
using System.IO.Pipelines;

namespace P2PNet.Transports.Memory;

/// <summary>
/// One end of a memory connection: reads from one pipe, writes to the other. One reader and one writer may run
/// concurrently. A zero-byte read waits until bytes are there without consuming them (as on a socket).
/// </summary>
internal sealed class MemoryDuplexStream : Stream
{
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private int _disposed;

    public MemoryDuplexStream(PipeReader reader, PipeWriter writer)
    {
        _reader = reader;
        _writer = writer;
    }

    public override bool CanRead => _disposed == 0;
    public override bool CanWrite => _disposed == 0;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        try
        {
            return await ReadCoreAsync(destination, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex) when (_disposed != 0)
        {
            // Dispose completed the reader while this read was waking up.
            throw new ObjectDisposedException(nameof(MemoryDuplexStream), ex);
        }
    }

    private async ValueTask<int> ReadCoreAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                // Only Dispose cancels a pending read: the connection was closed under the reader.
                _reader.AdvanceTo(buffer.Start);
                throw new ObjectDisposedException(nameof(MemoryDuplexStream));
            }
            if (buffer.IsEmpty && result.IsCompleted)
            {
                _reader.AdvanceTo(buffer.End);
                return 0;
            }
            if (destination.IsEmpty)
            {
                _reader.AdvanceTo(buffer.Start);
                return 0;
            }
            if (buffer.IsEmpty)
            {
                _reader.AdvanceTo(buffer.End);
                continue;
            }
            int n = (int)Math.Min(destination.Length, buffer.Length);
            buffer.Slice(0, n).CopyTo(destination.Span);
            _reader.AdvanceTo(buffer.GetPosition(n));
            return n;
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (source.IsEmpty) return;
        var result = await _writer.WriteAsync(source, cancellationToken).ConfigureAwait(false);
        if (result.IsCompleted) throw new IOException("the memory connection was closed by the remote");
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Synchronous I/O is not supported: every user of a transport stream is async.
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Completing our writer is the close the remote reads as end-of-stream; cancelling our pending read
            // wakes a reader blocked on this end before the reader is completed (the remote's writes then fail).
            _writer.Complete();
            _reader.CancelPendingRead();
            _reader.Complete();
        }
        base.Dispose(disposing);
    }
}
