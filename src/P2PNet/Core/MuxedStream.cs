namespace P2PNet.Core;

/// <summary>
/// One bidirectional stream of a multiplexed connection. Graceful close (<see cref="CloseWriteAsync"/>,
/// a half-close) is distinct from <see cref="Reset"/>, which aborts both directions at once.
/// </summary>
public abstract class MuxedStream : Stream
{
    /// <summary>The protocol negotiated on this stream, once known.</summary>
    public string? Protocol { get; set; }

    /// <summary>Half-closes: no more writes; reads continue until the remote closes its side.</summary>
    public abstract ValueTask CloseWriteAsync(CancellationToken cancellationToken = default);

    /// <summary>Aborts the stream in both directions; pending reads and writes fail.</summary>
    public abstract void Reset();

    /// <summary>
    /// Whether a zero-byte read waits until data (or the end) is there, without taking any: a reader can then wait for
    /// data holding no buffer, and read everything that arrived at once into the buffer it rents afterwards.
    /// </summary>
    internal virtual bool WaitsOnZeroByteRead => false;

    /// <summary>
    /// Writes as <see cref="Stream.WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>, saying whether the caller has
    /// more to write right behind this (<paramref name="moreFollows"/>). A muxer that can send from the caller when its
    /// writer is idle does so only for a write that nothing follows: that saves a thread hop on a round trip, while a
    /// stream of writes gains more from handing each to the muxer's writer and going on meanwhile.
    /// </summary>
    internal virtual ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, bool moreFollows, CancellationToken cancellationToken) =>
        WriteAsync(buffer, cancellationToken);

    /// <summary>
    /// Opens the receive window to about <paramref name="bytes"/> at once (a muxer caps it at its largest window), for a
    /// reader that asked for that much and reads it as it comes: the remote need not wait, a window at a time, for the
    /// window to grow. A stream whose reader lags then buffers up to this much, within the host's buffered-bytes limits,
    /// and keeps its receive buffer until it ends (a reader that asked for this much is expected to take it all).
    /// </summary>
    internal virtual void OpenReceiveWindow(long bytes)
    {
    }

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();
}
