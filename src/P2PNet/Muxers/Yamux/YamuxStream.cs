using System.Buffers;
using System.Diagnostics;
using P2PNet.Core;

namespace P2PNet.Muxers.Yamux;

/// <summary>
/// One yamux stream. Reads drain a bounded receive buffer (never more than the receive window) and return 0
/// after the remote half-closed; writes wait for send window and are queued to the session's single writer.
/// One concurrent reader and one concurrent writer are supported; the synchronous Read/Write are not.
/// A zero-byte read waits until data, the remote's FIN, a reset or the session's end is there, without taking
/// anything: a reader (e.g. a PipeReader with zero-byte reads) can wait so without holding a buffer.
/// </summary>
public sealed class YamuxStream : MuxedStream
{
    private readonly YamuxSession _session;
    private readonly Lock _sync = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly int _maxFrame;

    // Receive window auto-tuning (the rule of go-yamux): the window doubles, up to YamuxOptions.MaxWindowSize, when the
    // reader consumed half a window within four round trips of the previous update, i.e. the window, not the reader,
    // set the pace. The ring grows with what is actually buffered, not with the window.
    private readonly int _maxWindowSize;
    private int _windowSize;
    private long _epochStart = Stopwatch.GetTimestamp();

    // Receive side: a ring buffer rented while it holds data (or the read loop is filling it).
    private byte[]? _ring;
    // Set by OpenReceiveWindow: the reader asked for a large amount, so a ring that must grow goes straight to the window
    // (one copy, not one per doubling) and stays rented across drains until the stream ends, instead of going back to the
    // pool whenever the reader catches up and growing again from 256 KiB (4.3% of a transfer receiver's CPU was these copies).
    private bool _keepRing;
    private int _head;
    private int _count;
    private bool _receiving;
    private long _receiveWindow;
    private int _consumedUncredited;
    private bool _remoteFin;
    private bool _discarding;
    private TaskCompletionSource? _readWaiter;

    // Send side.
    private long _sendWindow = YamuxFrameHeader.DefaultWindow;
    private bool _localFin;
    private bool _synWritten;
    private TaskCompletionSource? _windowWaiter;

    private bool _reset;
    private YamuxException? _sessionError;
    private int _disposed;

    internal YamuxStream(YamuxSession session, uint id, bool outbound, YamuxOptions options)
    {
        _session = session;
        Id = id;
        IsOutbound = outbound;
        _windowSize = options.InitialWindowSize;
        _maxWindowSize = Math.Max(options.MaxWindowSize, options.InitialWindowSize);
        _maxFrame = options.MaxDataFrameSize;
        _receiveWindow = options.InitialWindowSize;
    }

    /// <summary>The yamux stream id (odd when opened by the client, even when opened by the server).</summary>
    public uint Id { get; }

    internal bool IsOutbound { get; }

    /// <summary>Outbound and not yet acknowledged by the remote; guarded by the session lock.</summary>
    internal bool AwaitingAck { get; set; }

    /// <summary>Inbound streams counted against <see cref="YamuxOptions.MaxStreams"/>; guarded by the session lock.</summary>
    internal bool Counted { get; set; }

    internal bool IsReset { get { lock (_sync) return _reset; } }

    /// <summary>Both directions are done: the session may forget the stream id.</summary>
    internal bool IsFinished { get { lock (_sync) return _reset || (_localFin && _remoteFin); } }

    internal int BufferedBytes { get { lock (_sync) return _count; } }

    /// <summary>True while the stream holds a receive ring (tests: idle streams hold none, opened windows keep theirs).</summary>
    internal bool HoldsReceiveBuffer { get { lock (_sync) return _ring is not null; } }

    /// <summary>Data received now would be buffered (not discarded): the session charges it to its budget.</summary>
    internal bool WillBuffer { get { lock (_sync) return !_reset && !_discarding; } }

    internal long SendWindow { get { lock (_sync) return _sendWindow; } }

    internal long ReceiveWindow { get { lock (_sync) return _receiveWindow; } }

    /// <summary>The receive window this stream grants in all (the initial window, grown by auto-tuning).</summary>
    internal int WindowSize { get { lock (_sync) return _windowSize; } }

    /// <inheritdoc />
    public override bool CanRead => Volatile.Read(ref _disposed) == 0;

    /// <inheritdoc />
    internal override bool WaitsOnZeroByteRead => true; // ReadAsync with an empty buffer: WaitForDataAsync

    /// <inheritdoc />
    public override bool CanWrite => Volatile.Read(ref _disposed) == 0;

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (buffer.IsEmpty)
        {
            await WaitForDataAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }
        while (true)
        {
            TaskCompletionSource? waiter = null;
            int credit = 0, read = 0;
            lock (_sync)
            {
                if (_reset) throw ResetError();
                if (_count > 0)
                {
                    read = Math.Min(_count, buffer.Length);
                    int first = Math.Min(read, _ring!.Length - _head);
                    _ring.AsSpan(_head, first).CopyTo(buffer.Span);
                    _ring.AsSpan(0, read - first).CopyTo(buffer.Span[first..]);
                    _head = (_head + read) % _ring.Length;
                    _count -= read;
                    ReleaseRingIfIdle();
                    credit = Credit(read);
                }
                else if (_remoteFin) return 0;
                else if (_sessionError is not null) throw SessionError();
                else waiter = _readWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            if (waiter is null)
            {
                _session.ReleaseBuffered(read);
                if (credit > 0) _session.SendWindowUpdate(this, (uint)credit);
                return read;
            }
            await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask WaitForDataAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource waiter;
            lock (_sync)
            {
                if (_reset) throw ResetError();
                if (_count > 0 || _remoteFin || _sessionError is not null) return; // the next read returns or throws at once
                waiter = _readWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    /// <remarks>Handed to the session's write loop: a caller that says nothing is taken as one of a stream of writes,
    /// which goes on while the loop encrypts and sends (no clear gain from writing bulk inline was measured).</remarks>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        WriteAsync(buffer, moreFollows: true, cancellationToken);

    /// <inheritdoc />
    internal override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, bool moreFollows, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (!buffer.IsEmpty)
            {
                int n = await AcquireSendWindowAsync(buffer.Length, cancellationToken).ConfigureAwait(false);
                // Take what more of the window is open now, so that one inline write (and one flush) carries the buffer.
                n += TryTakeSendWindow(Math.Min(buffer.Length, YamuxSession.MaxInlineBody) - n);
                if (!moreFollows && _session.TryWriteInline(this, buffer[..n], _maxFrame, cancellationToken, out var written))
                {
                    buffer = buffer[n..];
                    await written.ConfigureAwait(false);
                    continue;
                }
                while (n > 0)
                {
                    int frame = Math.Min(n, _maxFrame);
                    byte[] payload = ArrayPool<byte>.Shared.Rent(YamuxFrameHeader.Size + frame);
                    buffer.Span[..frame].CopyTo(payload.AsSpan(YamuxFrameHeader.Size));
                    var header = new YamuxFrameHeader(YamuxFrameType.Data, YamuxFlags.None, Id, (uint)frame);
                    try
                    {
                        await _session.EnqueueAsync(new YamuxOutFrame(header, payload, this), cancellationToken).ConfigureAwait(false);
                    }
                    catch
                    {
                        ArrayPool<byte>.Shared.Return(payload);
                        lock (_sync) _sendWindow += n;
                        throw;
                    }
                    buffer = buffer[frame..];
                    n -= frame;
                }
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Data is flushed by the session's write loop; nothing to do.</summary>
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Data is flushed by the session's write loop; nothing to do.</summary>
    public override void Flush() { }

    /// <summary>Not supported: use <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>.</summary>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("yamux streams are async only");

    /// <summary>Not supported: use <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>.</summary>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("yamux streams are async only");

    /// <summary>Sends FIN after all data written so far; further writes fail. Idempotent; a no-op after reset.</summary>
    public override async ValueTask CloseWriteAsync(CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_sync)
            {
                if (_localFin || _reset || _sessionError is not null) return;
                _localFin = true;
            }
            var fin = new YamuxFrameHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Fin, Id, 0);
            try
            {
                await _session.EnqueueAsync(new YamuxOutFrame(fin, null, this), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                lock (_sync) _localFin = false;
                throw;
            }
            catch (YamuxException)
            {
                return; // session ended: nothing left to close
            }
        }
        finally
        {
            _writeLock.Release();
        }
        _session.TryRemove(this);
    }

    /// <summary>Sends RST and fails pending and future reads and writes with <see cref="YamuxError.StreamReset"/>.</summary>
    public override void Reset()
    {
        bool sendRst;
        int dropped;
        lock (_sync)
        {
            if (_reset) return;
            sendRst = !(_localFin && _remoteFin) && _sessionError is null;
            _reset = true;
            dropped = _count;
            _count = 0;
            ReleaseRingIfIdle();
            // An outbound stream whose SYN is still queued gets SYN|RST from the write loop instead.
            if (IsOutbound && !_synWritten) sendRst = false;
            WakeAll();
        }
        _session.ReleaseBuffered(dropped);
        if (sendRst) _session.SendReset(Id);
        _session.TryRemove(this);
    }

    /// <summary>Closes the write side (FIN) and releases buffers; later inbound data is discarded and credited.</summary>
    public override async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            try
            {
                await CloseWriteAsync().ConfigureAwait(false);
            }
            catch (YamuxException)
            {
            }
        }
        await base.DisposeAsync().ConfigureAwait(false); // runs Dispose(true)
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || !disposing)
        {
            base.Dispose(disposing);
            return;
        }
        bool queueFin = false;
        int credit, dropped;
        lock (_sync)
        {
            if (!_localFin && !_reset && _sessionError is null)
            {
                _localFin = true;
                queueFin = true;
            }
            _discarding = true;
            dropped = _count;
            _count = 0;
            ReleaseRingIfIdle();
            credit = Credit(dropped);
            WakeAll();
        }
        _session.ReleaseBuffered(dropped);
        if (queueFin) _session.QueueFinFromDispose(this);
        if (credit > 0) _session.SendWindowUpdate(this, (uint)credit);
        _session.TryRemove(this);
        base.Dispose(disposing);
    }

    /// <summary>Takes up to <paramref name="wanted"/> bytes of the send window if open now, without waiting; returns how many.</summary>
    private int TryTakeSendWindow(int wanted)
    {
        if (wanted <= 0) return 0;
        lock (_sync)
        {
            int n = (int)Math.Min(_sendWindow, wanted);
            _sendWindow -= n;
            return n;
        }
    }

    /// <summary>Waits for send window; returns how many bytes (at most one frame) may be sent now.</summary>
    private async ValueTask<int> AcquireSendWindowAsync(int wanted, CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource waiter;
            lock (_sync)
            {
                if (_reset) throw ResetError();
                if (_localFin) throw new YamuxException(YamuxError.StreamClosed, $"stream {Id} is closed for writing");
                if (_sessionError is not null) throw SessionError();
                if (_sendWindow > 0)
                {
                    int n = (int)Math.Min(Math.Min(_sendWindow, wanted), _maxFrame);
                    _sendWindow -= n;
                    return n;
                }
                waiter = _windowWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Called by the read loop before a data body of <paramref name="length"/> bytes: checks and charges the
    /// receive window, then returns where to put the body (empty segments = read and discard it).
    /// </summary>
    internal (Memory<byte> First, Memory<byte> Second, int Credit) BeginReceive(int length)
    {
        lock (_sync)
        {
            if (length > _receiveWindow)
            {
                throw new YamuxException(YamuxError.WindowOverrun,
                    $"stream {Id}: data frame of {length} bytes exceeds the receive window of {_receiveWindow}");
            }
            if (_remoteFin) throw new YamuxException(YamuxError.ProtocolError, $"stream {Id}: data after FIN");
            _receiveWindow -= length;
            if (_reset) return (Memory<byte>.Empty, Memory<byte>.Empty, 0);
            if (_discarding) return (Memory<byte>.Empty, Memory<byte>.Empty, Credit(length));
            byte[] ring = _ring is { } current && _count + length <= current.Length ? current : GrowRing(_count + length);
            _receiving = true;
            int tail = (_head + _count) % ring.Length;
            int first = Math.Min(length, ring.Length - tail);
            return (ring.AsMemory(tail, first), ring.AsMemory(0, length - first), 0);
        }
    }

    /// <summary>
    /// Called by the read loop once the body announced by <see cref="BeginReceive"/> is in the ring; false when the
    /// stream was reset or disposed meanwhile and the body was dropped.
    /// </summary>
    internal bool EndReceive(int length)
    {
        lock (_sync)
        {
            _receiving = false;
            bool kept = !_reset && !_discarding;
            if (kept)
            {
                _count += length;
                Wake(ref _readWaiter);
            }
            ReleaseRingIfIdle();
            return kept;
        }
    }

    internal void OnWindowUpdate(uint delta)
    {
        lock (_sync)
        {
            _sendWindow += delta;
            Wake(ref _windowWaiter);
        }
    }

    internal void OnRemoteFin()
    {
        lock (_sync)
        {
            _remoteFin = true;
            ReleaseRingIfIdle();
            Wake(ref _readWaiter);
        }
    }

    internal void OnRemoteReset()
    {
        int dropped;
        lock (_sync)
        {
            if (_reset) return;
            _reset = true;
            dropped = _count;
            _count = 0;
            ReleaseRingIfIdle();
            WakeAll();
        }
        _session.ReleaseBuffered(dropped);
    }

    internal void OnSessionEnded(YamuxException error)
    {
        lock (_sync)
        {
            _sessionError ??= error;
            WakeAll();
        }
    }

    /// <summary>
    /// Called by the write loop before writing a frame of this stream: records that the SYN went out, and says
    /// whether the stream was reset meanwhile (then data is dropped and a SYN becomes SYN|RST).
    /// </summary>
    internal bool OnFrameWriting(bool isSyn)
    {
        lock (_sync)
        {
            if (isSyn) _synWritten = true;
            return _reset;
        }
    }

    /// <summary>
    /// Credits consumed bytes; returns the window update to send (0 while below half a window). While the session
    /// waits for a buffered-bytes limit, a stream that still holds unread bytes gets no update (its sender pauses);
    /// one whose reader has caught up always does, so a stream being read never stalls behind the others.
    /// </summary>
    private int Credit(int consumed)
    {
        _consumedUncredited += consumed;
        if (_remoteFin || _reset || _consumedUncredited < _windowSize / 2) return 0;
        if (_count > 0 && _session.IsPausedByBudget) return 0;
        int delta = _consumedUncredited;
        _consumedUncredited = 0;
        long now = Stopwatch.GetTimestamp();
        long roundTrip = _session.RoundTripTicks; // 0 until measured: no growth
        if (roundTrip > 0 && now - _epochStart < 4 * roundTrip && _windowSize < _maxWindowSize && !_discarding && !_session.IsPausedByBudget)
        {
            int grown = (int)Math.Min(2L * _windowSize, _maxWindowSize);
            delta += grown - _windowSize;
            _windowSize = grown;
        }
        _epochStart = now;
        _receiveWindow += delta;
        return delta;
    }

    /// <inheritdoc />
    internal override void OpenReceiveWindow(long bytes)
    {
        int delta;
        lock (_sync)
        {
            int target = (int)Math.Min(bytes, _maxWindowSize);
            if (target <= _windowSize || _remoteFin || _reset || _discarding) return;
            delta = target - _windowSize;
            _windowSize = target;
            _receiveWindow += delta;
            _keepRing = true;
        }
        _session.SendWindowUpdate(this, (uint)delta);
    }

    /// <summary>Rents a ring of at least <paramref name="needed"/> bytes (the initial window at first, doubling after; a kept ring goes straight to the window) and moves what is buffered to its front.</summary>
    private byte[] GrowRing(int needed)
    {
        int size = _keepRing && _ring is not null ? Math.Max(needed, _windowSize)
            : Math.Max(needed, Math.Min(_windowSize, Math.Max(YamuxFrameHeader.DefaultWindow, 2 * (_ring?.Length ?? 0))));
        byte[] grown = ArrayPool<byte>.Shared.Rent(size);
        if (_ring is { } old)
        {
            int first = Math.Min(_count, old.Length - _head);
            old.AsSpan(_head, first).CopyTo(grown);
            old.AsSpan(0, _count - first).CopyTo(grown.AsSpan(first));
            ArrayPool<byte>.Shared.Return(old);
        }
        _ring = grown;
        _head = 0;
        return grown;
    }

    private void ReleaseRingIfIdle()
    {
        if (_count != 0 || _receiving || _ring is null) return;
        if (_keepRing && !_remoteFin && !_reset && !_discarding) return;
        ArrayPool<byte>.Shared.Return(_ring);
        _ring = null;
        _head = 0;
    }

    private void WakeAll()
    {
        Wake(ref _readWaiter);
        Wake(ref _windowWaiter);
    }

    private static void Wake(ref TaskCompletionSource? waiter)
    {
        waiter?.TrySetResult();
        waiter = null;
    }

    private YamuxException ResetError() => new(YamuxError.StreamReset, $"stream {Id} was reset");

    private YamuxException SessionError() => new(_sessionError!.Error, $"stream {Id}: {_sessionError.Message}", _sessionError);
}
