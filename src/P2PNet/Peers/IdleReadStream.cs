using P2PNet.Core;

namespace P2PNet.Peers;

/// <summary>
/// The read side of a channel stream with zero-byte reads that wait, so that the channel's pipe (created with
/// <c>useZeroByteReads</c>) rents no buffer until bytes arrive (Kestrel's SocketConnection does the same on sockets).
/// A zero-byte read waits for one byte into a 1-byte field, and the next read hands it out first; on a stream that waits
/// on zero-byte reads itself (yamux) it is passed through, so the next read takes all that arrived. Read-only: the
/// channel writes to the stream itself. It also tells the pipe's <see cref="ReadSegmentPool"/> when a read filled its
/// buffer and how long an idle wait lasted.
/// </summary>
internal sealed class IdleReadStream(Stream inner, ReadSegmentPool? pool = null) : Stream
{
    private readonly byte[] _peek = new byte[1];
    private readonly bool _waitsOnZeroByteRead = inner is MuxedStream { WaitsOnZeroByteRead: true };
    private bool _hasPeek;
    private bool _ended;

    // A read that fills a buffer of a whole small segment or more means the peer is well ahead of us. (With any filled
    // buffer of 2 KiB or more, and with 8 KiB, `scale`'s heap growth over connect cycles rose by 1-6 points.)
    private const int MinGrowRead = ReadSegmentPool.MinSegment;

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
            // A stream that waits on zero-byte reads itself (yamux) lets the pipe's next read take every byte that
            // arrived; others are waited on with a 1-byte read.
            var wait = _waitsOnZeroByteRead ? inner.ReadAsync(Memory<byte>.Empty, cancellationToken) : inner.ReadAsync(_peek, cancellationToken);
            int got;
            if (wait.IsCompleted || pool is null) got = await wait.ConfigureAwait(false);
            else
            {
                long idleSince = pool.Now();
                got = await wait.ConfigureAwait(false);
                pool.Waited(idleSince);
            }
            if (_waitsOnZeroByteRead) return 0; // data or the end: the next read tells which
            if (got == 0) _ended = true;
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
        int read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (read == buffer.Length && read >= MinGrowRead) pool?.Grow(); // more was waiting: read in larger pieces
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("use ReadAsync");
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
