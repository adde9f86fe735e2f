using System.IO.Pipelines;

namespace P2PNet.Tests.Security.Noise;

/// <summary>Test-only in-memory duplex connection: two pipes, one per direction.</summary>
internal sealed class DuplexPipeStream : Stream
{
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly Stream _readStream;
    private readonly Stream _writeStream;
    private int _disposed;

    private DuplexPipeStream(PipeReader reader, PipeWriter writer)
    {
        _reader = reader;
        _writer = writer;
        _readStream = reader.AsStream();
        _writeStream = writer.AsStream();
    }

    /// <summary>Two connected ends: what one writes the other reads.</summary>
    public static (DuplexPipeStream A, DuplexPipeStream B) CreatePair()
    {
        var ab = new Pipe();
        var ba = new Pipe();
        return (new DuplexPipeStream(ba.Reader, ab.Writer), new DuplexPipeStream(ab.Reader, ba.Writer));
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override int Read(byte[] buffer, int offset, int count) => _readStream.Read(buffer, offset, count);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _readStream.ReadAsync(buffer, cancellationToken);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _readStream.ReadAsync(buffer, offset, count, cancellationToken);
    public override void Write(byte[] buffer, int offset, int count) => _writeStream.Write(buffer, offset, count);
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _writeStream.WriteAsync(buffer, cancellationToken);
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _writeStream.WriteAsync(buffer, offset, count, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && disposing)
        {
            // Completing our writer is what the peer sees as end of stream.
            _writer.Complete();
            _reader.Complete();
        }
        base.Dispose(disposing);
    }
}
