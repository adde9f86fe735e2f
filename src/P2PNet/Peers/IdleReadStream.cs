namespace P2PNet.Peers;

/// <summary>
/// The read side of a channel stream with zero-byte reads that wait, so that the channel's pipe (created with
/// <c>useZeroByteReads</c>) rents no buffer until bytes arrive (Kestrel's SocketConnection does the same on sockets).
/// A zero-byte read waits for one byte into a 1-byte field, and the next read hands it out first. Read-only: the
/// channel writes to the stream itself.
/// </summary>
internal sealed class IdleReadStream(Stream inner) : Stream
{
    private readonly byte[] _peek = new byte[1];
    private bool _hasPeek;
    private bool _ended;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            // Wait until data (or the end) arrives, without a buffer: the pipe rents one only after this returns.
            if (_hasPeek || _ended) return 0;
            if (await inner.ReadAsync(_peek, cancellationToken).ConfigureAwait(false) == 0) _ended = true;
            else _hasPeek = true;
            return 0;
        }
        if (_hasPeek)
        {
            // The peeked byte alone: reading on could wait (holding the pipe's buffer) for bytes not sent yet.
            _hasPeek = false;
            buffer.Span[0] = _peek[0];
            return 1;
        }
        if (_ended) return 0;
        return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("use ReadAsync");
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
