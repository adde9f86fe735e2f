namespace P2PNet.Fuzz;

/// <summary>
/// A duplex stream with a scripted peer behind it: every write the code under test makes is handed to
/// <c>onWrite</c>, which may queue the peer's answer for the next reads. Reads return the end of the stream
/// once nothing is queued. Lets a harness play one side of a handshake synchronously, with no sockets.
/// </summary>
internal sealed class ScriptedPeerStream : Stream
{
    private readonly Func<byte[], byte[]?> _onWrite;
    private readonly Queue<byte> _pending = new();

    public ScriptedPeerStream(byte[] initial, Func<byte[], byte[]?> onWrite)
    {
        _onWrite = onWrite;
        foreach (byte b in initial) _pending.Enqueue(b);
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = 0;
        while (n < buffer.Length && _pending.TryDequeue(out byte b)) buffer[n++] = b;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_onWrite(buffer.ToArray()) is { } answer)
            foreach (byte b in answer) _pending.Enqueue(b);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }
}
