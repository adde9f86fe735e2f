using System.Diagnostics;
using P2PNet.Core;

namespace P2PNet.Protocols.Relay;

// The byte stream of a relayed connection: the hop stream (dialer) or stop stream (target) after the handshake.
// It counts bytes and time against the limit the relay announced, so that when the relay resets the circuit at
// that limit, reads and writes fail with RelayError.LimitReached (not a bare reset) and the client reports it.
internal sealed class CircuitStream : Stream
{
    private readonly MuxedStream _inner;
    private readonly RelayLimit? _limit;
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action<CircuitStream, RelayException?> _closed;
    private long _read;
    private long _written;
    private RelayException? _error;
    private int _disposed;

    public CircuitStream(MuxedStream inner, RelayLimit? limit, PeerId relay, PeerId remote, Action<CircuitStream, RelayException?> closed)
    {
        _inner = inner;
        _limit = limit;
        Relay = relay;
        Remote = remote;
        _closed = closed;
    }

    public PeerId Relay { get; }

    public PeerId Remote { get; }

    public RelayLimit? Limit => _limit;

    /// <summary>Completes when the stream is disposed (the relayed connection is over).</summary>
    public Task Completion => _completion.Task;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n;
        try
        {
            n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Fail(ex);
        }
        if (n == 0 && buffer.Length > 0 && LimitReached() is { } reached) throw Record(reached);
        Interlocked.Add(ref _read, n);
        return n;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Add(ref _written, buffer.Length);
        try
        {
            await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Fail(ex);
        }
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Fail(ex);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("circuit streams are async only");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("circuit streams are async only");

    public override void Flush() => throw new NotSupportedException("circuit streams are async only");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private RelayException Fail(Exception ex) =>
        Record(LimitReached() is { } reached
            ? new RelayException(RelayError.LimitReached, reached.Message, inner: ex)
            : new RelayException(RelayError.CircuitReset, $"the circuit to {Remote} through relay {Relay} broke: {ex.Message}", inner: ex));

    private RelayException Record(RelayException ex)
    {
        Interlocked.CompareExchange(ref _error, ex, null);
        return ex;
    }

    // The relay resets at its limit; whether we are there tells a limit from any other reset. The relay's clock
    // starts before ours, so the duration counts as reached a little early.
    private RelayException? LimitReached()
    {
        if (_limit is null) return null;
        if (_limit.Data is { } data && (Interlocked.Read(ref _read) >= (long)Math.Min(data, long.MaxValue) || Interlocked.Read(ref _written) > (long)Math.Min(data, long.MaxValue)))
            return new RelayException(RelayError.LimitReached, $"relay {Relay} ended the circuit to {Remote} at its data limit of {data} bytes each way");
        if (_limit.Duration is { } duration)
        {
            var slack = TimeSpan.FromTicks(Math.Min(TimeSpan.TicksPerSecond, duration.Ticks / 10));
            if (Stopwatch.GetElapsedTime(_start) >= duration - slack)
                return new RelayException(RelayError.LimitReached, $"relay {Relay} ended the circuit to {Remote} at its time limit of {duration.TotalSeconds:0.#} s");
        }
        return null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _inner.Dispose();
            Finish();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
            Finish();
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private void Finish()
    {
        _closed(this, Volatile.Read(ref _error));
        _completion.TrySetResult();
    }
}
