using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;

namespace P2PNet.Muxers.Yamux;

/// <summary>
/// A yamux (<c>/yamux/1.0.0</c>) session over one connection. The constructor starts it: one read loop
/// demultiplexes frames into streams, one write loop coalesces queued frames into large writes with one flush per
/// batch. A write that nothing follows may instead go from its caller straight to the connection when nothing is queued
/// and the loop is idle (a reply: one thread hop fewer); a gate keeps the two from writing at once. Control replies
/// (pongs, window updates, resets) jump ahead of queued data so that a full data queue never blocks them.
/// </summary>
/// <remarks>
/// Strictness, chosen for safety: a bad version, an unknown type, a ping or go-away on a non-zero stream id, a
/// data or window-update frame on stream 0, a SYN with the wrong parity or for a stream still open, a frame without
/// SYN for a stream id that was never opened, data after FIN, and a data frame larger than the remaining receive
/// window all end the session with go-away (protocol error) and fault <see cref="Completion"/> with a
/// <see cref="YamuxException"/>. Frames for streams that were opened and have since closed are discarded silently.
/// Inbound streams are acknowledged (window update with ACK) when <see cref="AcceptStreamAsync"/> hands them out;
/// outbound streams are opened eagerly with a window update carrying SYN. A remote go-away with code 0 stops new
/// streams in both directions while existing streams continue until the connection closes; a remote go-away with
/// an error code ends the session at once.
/// </remarks>
public sealed class YamuxSession : IStreamMuxer
{
    /// <summary>The multistream-select protocol id of yamux.</summary>
    public const string ProtocolId = "/yamux/1.0.0";

    /// <summary>Size of the read loop's input buffer (rented only while bytes wait in it).</summary>
    internal const int ReadBufferSize = 64 * 1024;

    /// <summary>Data bodies at least this large are read straight from the connection into the stream's buffer.</summary>
    internal const int DirectReadThreshold = 16 * 1024;

    /// <summary>Coalescing buffer of the write loop (small frames are copied into it and written together); rented while frames are queued.</summary>
    internal const int WriteBufferSize = 64 * 1024;

    /// <summary>Data bodies at least this large are written from their own buffer instead of being coalesced.</summary>
    internal const int DirectWriteThreshold = 8 * 1024;

    /// <summary>Bytes written per batch before the write loop flushes and looks at control frames again.</summary>
    internal const int MaxWriteBatchBytes = 1024 * 1024;

    /// <summary>
    /// Largest body a stream writes inline (<see cref="TryWriteInline"/>): the Noise send buffer (256 KiB) takes it
    /// whole, so it is encrypted before the call returns and the caller's memory is free again.
    /// </summary>
    internal const int MaxInlineBody = 128 * 1024;

    private readonly Stream _connection;
    private readonly IExpectedReadStream? _connectionExpected;
    private readonly IGatheringWriteStream? _connectionGathering;
    private readonly bool _isClient;
    private readonly YamuxOptions _options;
    private readonly ILogger _logger;

    private readonly Lock _sync = new();
    private readonly Dictionary<uint, YamuxStream> _streams = [];
    private readonly Dictionary<uint, TaskCompletionSource> _pings = [];
    private uint _nextStreamId;
    private uint _highestRemoteId;
    private uint _nextPingId;
    // The last ping's round trip in Stopwatch ticks (0 until one was measured), for the streams' window auto-tuning;
    // the first window update a stream sends starts one probe ping (_probe, awaited by RunAsync).
    private long _roundTripTicks;
    private int _probeStarted;
    private Task? _probe;
    private int _inboundCount;
    private int _pendingAccept;
    private bool _backlogLogged;
    private int _unackedOutbound;
    private TaskCompletionSource? _ackWaiter;
    private bool _localGoAway;
    private bool _remoteGoAway;
    private volatile bool _shuttingDown;
    private volatile bool _dropData;
    private YamuxFrameHeader? _finalGoAway;
    private YamuxException? _error;

    private readonly Lock _controlSync = new();
    private readonly Queue<YamuxFrameHeader> _control = new();
    private readonly Channel<YamuxOutFrame> _writeQueue;
    // Held (1) by whoever writes to the connection: the write loop for a batch, or a stream writing inline. Only the
    // loop ever waits for it, on _gateWaiter; an inline writer that finds it held queues its frame instead.
    private int _writeGate;
    private TaskCompletionSource? _gateWaiter;
    private Task? _inlineFlush; // the last inline write that left its flush pending; awaited by RunAsync
    private long _inlineWrites;
    private readonly Channel<YamuxStream> _acceptQueue;

    // Buffered-bytes budget (null without a host): the read loop waits on _budgetWaiter while a limit is reached.
    private IYamuxBufferBudget? _budget;
    private TaskCompletionSource? _budgetWaiter;
    private volatile bool _budgetPaused;

    /// <summary>How often a read loop paused by the buffered-bytes budget looks again (other connections may have freed bytes).</summary>
    private static readonly TimeSpan BudgetRecheckInterval = TimeSpan.FromMilliseconds(100);

    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _run;
    private int _disposed;

    // Read loop state (touched by the read loop only); the buffer is empty ([]) while nothing is buffered.
    private byte[] _readBuffer = [];
    private byte[]? _writeBuffer;
    private int _readStart;
    private int _readEnd;

    /// <summary>Creates the session and starts its read and write loops.</summary>
    /// <param name="connection">The secured connection; owned and disposed by the session.</param>
    /// <param name="isClient">True on the side that initiated the connection (uses odd stream ids).</param>
    /// <param name="options">Tunables; <see cref="YamuxOptions.Default"/> when null.</param>
    /// <param name="logger">Logger; nothing is logged when null.</param>
    public YamuxSession(Stream connection, bool isClient, YamuxOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _options = options ?? YamuxOptions.Default;
        _options.Validate();
        _connection = connection;
        _connectionExpected = connection as IExpectedReadStream;
        _connectionGathering = connection as IGatheringWriteStream;
        _isClient = isClient;
        _logger = logger ?? NullLogger.Instance;
        _nextStreamId = isClient ? 1u : 2u;
        _writeQueue = Channel.CreateBounded<YamuxOutFrame>(new BoundedChannelOptions(_options.WriteQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        // Every queued stream is counted against MaxStreams, so the queue never holds more than that; streams
        // beyond AcceptBacklog wait here instead of being reset (the remote's ACK backlog throttles it meanwhile).
        _acceptQueue = Channel.CreateBounded<YamuxStream>(new BoundedChannelOptions(_options.MaxStreams)
        {
            FullMode = BoundedChannelFullMode.Wait,
        });
        _run = Task.Run(RunAsync);
    }

    /// <summary>True on the initiating side (odd stream ids).</summary>
    public bool IsClient => _isClient;

    /// <summary>
    /// Completes when the session has ended and its loops have stopped: successfully after disposal or a clean
    /// end of the connection, faulted with a <see cref="YamuxException"/> on a protocol violation, a remote
    /// go-away with an error code, or a connection failure.
    /// </summary>
    public Task Completion => _completion.Task;

    internal int StreamCount { get { lock (_sync) return _streams.Count; } }

    /// <summary>Writes sent from the caller instead of the write loop (<see cref="TryWriteInline"/>), for tests.</summary>
    internal long InlineWrites => Interlocked.Read(ref _inlineWrites);

    /// <summary>The secured connection underneath (tests inspect its buffering).</summary>
    internal Stream Transport => _connection;

    /// <summary>True while the read loop holds a rented input buffer (tests check that an idle session holds none).</summary>
    internal bool HoldsReadBuffer => Volatile.Read(ref _readBuffer).Length != 0;

    /// <summary>True while the write loop holds its rented coalescing buffer.</summary>
    internal bool HoldsWriteBuffer => Volatile.Read(ref _writeBuffer) is not null;

    /// <summary>Charges what the streams buffer to <paramref name="budget"/> from now on (set by the host once the peer is known).</summary>
    internal void SetBufferBudget(IYamuxBufferBudget budget) => Volatile.Write(ref _budget, budget);

    /// <summary>True while the read loop waits for the application to read (a buffered-bytes limit is reached).</summary>
    internal bool IsPausedByBudget => _budgetPaused;

    /// <summary>Called by a stream when buffered bytes are read or dropped: releases them and wakes a paused read loop.</summary>
    internal void ReleaseBuffered(int bytes)
    {
        if (bytes <= 0) return;
        var budget = Volatile.Read(ref _budget);
        if (budget is null) return;
        budget.Release(bytes);
        Volatile.Read(ref _budgetWaiter)?.TrySetResult();
    }

    /// <summary>Inbound streams queued and not yet handed out by <see cref="AcceptStreamAsync"/>.</summary>
    internal int PendingAcceptCount => Volatile.Read(ref _pendingAccept);

    /// <summary>Opens an outbound stream; its SYN is queued at once. Waits while the ACK backlog is full.</summary>
    public async ValueTask<MuxedStream> OpenStreamAsync(CancellationToken cancellationToken = default)
    {
        YamuxStream stream;
        while (true)
        {
            TaskCompletionSource waiter;
            lock (_sync)
            {
                ThrowIfCannotOpen();
                if (_unackedOutbound < _options.MaxAckBacklog)
                {
                    if (_nextStreamId > uint.MaxValue - 2) throw new YamuxException(YamuxError.ProtocolError, "stream ids exhausted");
                    stream = new YamuxStream(this, _nextStreamId, outbound: true, _options) { AwaitingAck = true };
                    _nextStreamId += 2;
                    _unackedOutbound++;
                    _streams.Add(stream.Id, stream);
                    break;
                }
                waiter = _ackWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        var syn = new YamuxFrameHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, stream.Id, ExtraWindow);
        try
        {
            await EnqueueAsync(new YamuxOutFrame(syn, null, stream), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Forget(stream);
            throw;
        }
        return stream;
    }

    /// <summary>
    /// Waits for the next inbound stream and acknowledges it. Streams queued before the session ended cleanly are
    /// still handed out (they yield the data they buffered); null once none are left and the session ended or the
    /// remote went away, and at once after the session failed.
    /// </summary>
    public async ValueTask<MuxedStream?> AcceptStreamAsync(CancellationToken cancellationToken = default)
    {
        var reader = _acceptQueue.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (reader.TryRead(out var stream))
            {
                Interlocked.Decrement(ref _pendingAccept);
                if (_shuttingDown && _error is not null) return null; // after a failure nothing queued is trustworthy
                if (stream.IsReset) continue;
                if (!_shuttingDown)
                {
                    var ack = new YamuxFrameHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Ack, stream.Id, ExtraWindow);
                    try
                    {
                        await EnqueueAsync(new YamuxOutFrame(ack, null, stream), cancellationToken).ConfigureAwait(false);
                    }
                    catch (YamuxException)
                    {
                        // The session ended meanwhile; the stream still yields what it buffered.
                    }
                }
                return stream;
            }
        }
        return null;
    }

    /// <summary>Sends a ping and returns the round-trip time once the matching ACK arrives.</summary>
    public async ValueTask<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var pong = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        uint id;
        lock (_sync)
        {
            if (_shuttingDown) throw Ended();
            id = _nextPingId++;
            _pings.Add(id, pong);
        }
        long start = Stopwatch.GetTimestamp();
        try
        {
            EnqueueControl(new YamuxFrameHeader(YamuxFrameType.Ping, YamuxFlags.Syn, 0, id));
            await pong.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_sync) _pings.Remove(id);
        }
        long elapsed = Stopwatch.GetTimestamp() - start;
        Volatile.Write(ref _roundTripTicks, Math.Max(1, elapsed));
        return Stopwatch.GetElapsedTime(start);
    }

    /// <summary>The last measured round trip in <see cref="Stopwatch"/> ticks; 0 until a ping was answered.</summary>
    internal long RoundTripTicks => Volatile.Read(ref _roundTripTicks);

    /// <summary>Sets the round trip the streams' auto-tuning uses, as if a ping had measured it (tests stand in for a long link).</summary>
    internal void NoteRoundTrip(TimeSpan roundTrip) =>
        Volatile.Write(ref _roundTripTicks, Math.Max(1, (long)(roundTrip.TotalSeconds * Stopwatch.Frequency)));

    // A stream moves data (it grants a window update): measure the round trip once, so its window can grow.
    private void ProbeRoundTripOnce()
    {
        if (Volatile.Read(ref _roundTripTicks) != 0 || _shuttingDown || Interlocked.Exchange(ref _probeStarted, 1) != 0) return;
        Volatile.Write(ref _probe, ProbeRoundTripAsync());
    }

    private async Task ProbeRoundTripAsync()
    {
        try
        {
            await PingAsync(CancellationToken.None).ConfigureAwait(false); // ends with the session at the latest
        }
        catch (YamuxException)
        {
            // The session ended first; there is nothing to tune.
        }
    }

    /// <summary>
    /// Queues go-away (normal termination) behind the frames already queued: the remote should open no more
    /// streams, and this side opens and accepts no more. Existing streams continue; dispose the session to close
    /// the connection.
    /// </summary>
    public async ValueTask GoAwayAsync(CancellationToken cancellationToken = default)
    {
        lock (_sync)
        {
            if (_localGoAway || _shuttingDown) return;
            _localGoAway = true;
        }
        var goAway = new YamuxFrameHeader(YamuxFrameType.GoAway, YamuxFlags.None, 0, (uint)YamuxGoAwayCode.Normal);
        try
        {
            await EnqueueAsync(new YamuxOutFrame(goAway, null, null), cancellationToken).ConfigureAwait(false);
        }
        catch (YamuxException)
        {
            // The session ended meanwhile.
        }
    }

    /// <summary>
    /// Ends the session: sends go-away (normal) after the queued frames, waits up to
    /// <see cref="YamuxOptions.CloseTimeout"/> for them to be written, closes the connection and awaits both loops.
    /// Idempotent; never throws.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            BeginShutdown(null, YamuxGoAwayCode.Normal, drain: true, "disposed");
            try
            {
                await _run.WaitAsync(_options.CloseTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The remote is not reading: abandon the queued frames.
                await AbortConnectionAsync().ConfigureAwait(false);
            }
        }
        await _run.ConfigureAwait(false);
    }

    /// <summary>Queues a frame of a stream behind earlier ones (waits while the queue is full).</summary>
    internal async ValueTask EnqueueAsync(YamuxOutFrame frame, CancellationToken cancellationToken)
    {
        try
        {
            await _writeQueue.Writer.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw Ended();
        }
    }

    /// <summary>
    /// Writes data of <paramref name="stream"/> (as frames of at most <paramref name="maxFrame"/> bytes) straight to the
    /// connection when nothing is queued and nobody is writing, as NATS.Net and Kestrel write from the caller when they
    /// can: the caller encrypts and sends instead of waking the write loop, which saves a thread hop and a copy of the
    /// body, and the frames of one write leave with one flush. Returns false (nothing done) when they must queue behind
    /// others. On true, the body has been taken (its memory is free again) and <paramref name="written"/> completes once
    /// the frames have left; the caller's token cancels only that wait, as frames once encrypted are the session's to send.
    /// </summary>
    internal bool TryWriteInline(YamuxStream stream, ReadOnlyMemory<byte> body, int maxFrame, CancellationToken cancellationToken, out ValueTask written)
    {
        written = default;
        int frames = (body.Length + maxFrame - 1) / maxFrame;
        if (_connectionGathering is not { } gathering || body.Length > MaxInlineBody || _shuttingDown
            || _writeQueue.Reader.Count != 0 || Interlocked.CompareExchange(ref _writeGate, 1, 0) != 0)
            return false;
        bool release = true;
        try
        {
            // Checked again under the gate: a frame queued meanwhile goes first. No room happens only after a failed batch.
            if (_shuttingDown || _writeQueue.Reader.Count != 0 || !gathering.HasGatherRoom(body.Length + frames * YamuxFrameHeader.Size, 2 * frames))
                return false;
            // Reset meanwhile: its data is dropped, as the write loop drops it.
            if (stream.OnFrameWriting(isSyn: false)) return true;
            _inlineWrites++; // under the gate
            for (var rest = body.Span; !rest.IsEmpty;)
            {
                int n = Math.Min(rest.Length, maxFrame);
                Frame(gathering, stream.Id, rest[..n]);
                rest = rest[n..];
            }
            Task flush = _connection.FlushAsync(_abort.Token);
            if (flush.IsCompletedSuccessfully) return true;
            // The socket is full: the flush goes on under the gate, the session's to finish; the caller waits for it.
            release = false;
            var pending = FinishInlineAsync(flush);
            _inlineFlush = pending;
            written = InlineWrittenAsync(pending, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            InlineFailed(ex);
            written = ValueTask.FromException(Ended());
            return true;
        }
        finally
        {
            if (release) ReleaseInlineGate();
        }
    }

    /// <summary>Encrypts one data frame into the connection's send buffer (room was checked), without waiting.</summary>
    private static void Frame(IGatheringWriteStream gathering, uint streamId, ReadOnlySpan<byte> body)
    {
        var header = new YamuxFrameHeader(YamuxFrameType.Data, YamuxFlags.None, streamId, (uint)body.Length);
        bool framed;
        if (body.Length >= DirectWriteThreshold)
        {
            // Header and body in Noise frames of their own: the remote decrypts the body into the stream's buffer.
            Span<byte> head = stackalloc byte[YamuxFrameHeader.Size];
            header.Write(head);
            framed = gathering.TryWriteGathered(head, body);
        }
        else
        {
            // One Noise frame for header and body, as the write loop's coalescing buffer gives.
            byte[] frame = ArrayPool<byte>.Shared.Rent(YamuxFrameHeader.Size + body.Length);
            try
            {
                header.Write(frame);
                body.CopyTo(frame.AsSpan(YamuxFrameHeader.Size));
                framed = gathering.TryWriteGathered(frame.AsSpan(0, YamuxFrameHeader.Size + body.Length), []);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(frame);
            }
        }
        if (!framed) throw new InvalidOperationException("the send buffer had no room for a frame it was checked to hold");
    }

    /// <summary>Waits out an inline write's flush under the gate, then releases it. Never throws: false when it failed.</summary>
    private async Task<bool> FinishInlineAsync(Task flush)
    {
        try
        {
            await flush.ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            InlineFailed(ex);
            return false;
        }
        finally
        {
            ReleaseInlineGate();
        }
    }

    /// <summary>An inline writer is done: opens the gate, then wakes the write loop if it waits for it.</summary>
    private void ReleaseInlineGate()
    {
        // Full fences on both sides (here and in EnterGateAsync): either the loop sees the gate open, or we see its waiter.
        Interlocked.Exchange(ref _writeGate, 0);
        Interlocked.Exchange(ref _gateWaiter, null)?.TrySetResult();
    }

    /// <summary>The write loop takes the gate, waiting while an inline writer holds it.</summary>
    private async ValueTask EnterGateAsync(CancellationToken token)
    {
        while (Interlocked.CompareExchange(ref _writeGate, 1, 0) != 0)
        {
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Interlocked.Exchange(ref _gateWaiter, waiter);
            if (Volatile.Read(ref _writeGate) != 0) await waiter.Task.WaitAsync(token).ConfigureAwait(false);
        }
    }

    private async ValueTask InlineWrittenAsync(Task<bool> flush, CancellationToken cancellationToken)
    {
        if (!await flush.WaitAsync(cancellationToken).ConfigureAwait(false)) throw Ended();
    }

    private void InlineFailed(Exception ex)
    {
        if (!_shuttingDown) YamuxLog.ConnectionError(_logger, ex);
        BeginShutdown(new YamuxException(YamuxError.ConnectionLost, "writing to the connection failed", ex), null, drain: false, "write failed");
    }

    internal void SendWindowUpdate(YamuxStream stream, uint delta)
    {
        EnqueueControl(new YamuxFrameHeader(YamuxFrameType.WindowUpdate, YamuxFlags.None, stream.Id, delta));
        ProbeRoundTripOnce();
    }

    internal void SendReset(uint streamId) =>
        EnqueueControl(new YamuxFrameHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, streamId, 0));

    /// <summary>Queues FIN from a synchronous dispose, behind the stream's queued data.</summary>
    internal void QueueFinFromDispose(YamuxStream stream)
    {
        var frame = new YamuxOutFrame(new YamuxFrameHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Fin, stream.Id, 0), null, stream);
        if (!_writeQueue.Writer.TryWrite(frame) && !_shuttingDown) _ = QueueFinSlowAsync(frame);
    }

    private async Task QueueFinSlowAsync(YamuxOutFrame frame)
    {
        try
        {
            await EnqueueAsync(frame, _abort.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is YamuxException or OperationCanceledException or ObjectDisposedException)
        {
            // The session ended: the FIN no longer matters.
        }
    }

    /// <summary>Forgets a stream once both directions are done (or it was reset).</summary>
    internal void TryRemove(YamuxStream stream)
    {
        if (stream.IsFinished) Forget(stream);
    }

    private void Forget(YamuxStream stream)
    {
        lock (_sync)
        {
            if (_streams.TryGetValue(stream.Id, out var current) && ReferenceEquals(current, stream)) _streams.Remove(stream.Id);
            if (stream.Counted)
            {
                stream.Counted = false;
                _inboundCount--;
            }
            MarkAcked(stream);
        }
    }

    /// <summary>Must hold <see cref="_sync"/>.</summary>
    private void MarkAcked(YamuxStream stream)
    {
        if (!stream.AwaitingAck) return;
        stream.AwaitingAck = false;
        _unackedOutbound--;
        _ackWaiter?.TrySetResult();
        _ackWaiter = null;
    }

    private uint ExtraWindow => (uint)(_options.InitialWindowSize - YamuxFrameHeader.DefaultWindow);

    private void ThrowIfCannotOpen()
    {
        if (_shuttingDown) throw Ended();
        if (_remoteGoAway) throw new YamuxException(YamuxError.RemoteGoAway, "the remote sent go-away");
        if (_localGoAway) throw new YamuxException(YamuxError.SessionClosed, "go-away was sent");
    }

    private YamuxException Ended()
    {
        var error = _error;
        return error is null
            ? new YamuxException(YamuxError.SessionClosed, "the yamux session has ended")
            : new YamuxException(error.Error, error.Message, error);
    }

    /// <summary>
    /// Queues a control frame ahead of data and wakes the write loop. Fails the session when the bound is hit:
    /// the remote keeps provoking replies without reading them.
    /// </summary>
    private void EnqueueControl(YamuxFrameHeader header, bool bypassLimit = false)
    {
        bool overloaded = false;
        lock (_controlSync)
        {
            if (!bypassLimit && _control.Count >= _options.MaxPendingControlFrames) overloaded = true;
            else _control.Enqueue(header);
        }
        if (overloaded)
        {
            var error = new YamuxException(YamuxError.Overloaded, "too many pending control frames: the remote is not reading");
            YamuxLog.ProtocolViolation(_logger, error.Error, error.Message);
            BeginShutdown(error, YamuxGoAwayCode.InternalError, drain: false, "overloaded");
            return;
        }
        _writeQueue.Writer.TryWrite(default); // doorbell; if the queue is full the write loop is busy anyway
    }

    private bool TryDequeueControl(out YamuxFrameHeader header)
    {
        lock (_controlSync) return _control.TryDequeue(out header);
    }

    private bool HasControl()
    {
        lock (_controlSync) return _control.Count > 0;
    }

    /// <summary>
    /// Starts ending the session once: fails streams and pings, ends accepting, optionally queues go-away, and
    /// completes the write queue so the write loop finishes (writing queued data only when <paramref name="drain"/>).
    /// </summary>
    private void BeginShutdown(YamuxException? error, YamuxGoAwayCode? goAway, bool drain, string reason)
    {
        YamuxStream[] streams;
        TaskCompletionSource[] pings;
        bool sendGoAway;
        lock (_sync)
        {
            if (_shuttingDown) return;
            _error = error;
            _dropData = !drain;
            _shuttingDown = true;
            sendGoAway = goAway is not null && !_localGoAway; // GoAwayAsync queued one already
            streams = [.. _streams.Values];
            _streams.Clear();
            pings = [.. _pings.Values];
            _ackWaiter?.TrySetResult();
            _ackWaiter = null;
        }
        YamuxLog.SessionEnded(_logger, reason);
        if (sendGoAway)
        {
            var header = new YamuxFrameHeader(YamuxFrameType.GoAway, YamuxFlags.None, 0, (uint)goAway!.Value);
            // A graceful close sends go-away after the queued frames, so the remote still sees their SYNs; a failure sends it first.
            if (drain) lock (_controlSync) _finalGoAway = header;
            else EnqueueControl(header, bypassLimit: true);
        }
        var ended = error ?? new YamuxException(YamuxError.SessionClosed, "the yamux session has ended");
        foreach (var stream in streams) stream.OnSessionEnded(ended);
        if (!drain)
        {
            // Bound the final go-away write: a remote that stopped reading must not keep the session alive.
            try
            {
                _abort.CancelAfter(_options.CloseTimeout);
            }
            catch (ObjectDisposedException)
            {
            }
        }
        foreach (var pong in pings) pong.TrySetException(Ended());
        _acceptQueue.Writer.TryComplete();
        _writeQueue.Writer.TryComplete();
    }

    private async Task AbortConnectionAsync()
    {
        try
        {
            await _abort.CancelAsync().ConfigureAwait(false);
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            YamuxLog.ConnectionError(_logger, ex);
        }
    }

    private async Task RunAsync()
    {
        Task read = ReadLoopAsync();
        Task write = WriteLoopAsync();
        Task keepAlive = KeepAliveLoopAsync();
        await write.ConfigureAwait(false);
        // The write loop only ends once shutdown began; closing the connection stops the read loop.
        await AbortConnectionAsync().ConfigureAwait(false);
        await read.ConfigureAwait(false);
        await keepAlive.ConfigureAwait(false);
        if (Volatile.Read(ref _probe) is { } probe) await probe.ConfigureAwait(false); // never throws; pings failed at shutdown
        if (Volatile.Read(ref _inlineFlush) is { } inline) await inline.ConfigureAwait(false); // never throws
        _abort.Dispose();
        if (_error is { } error)
        {
            _completion.TrySetException(error);
            // The error also reaches every stream and the log; a session whose owner only checks IsCompleted
            // must not raise TaskScheduler.UnobservedTaskException for it (found by the live-stack fuzzer).
            _ = _completion.Task.Exception;
        }
        else
        {
            _completion.TrySetResult();
        }
    }

    private async Task WriteLoopAsync()
    {
        byte[]? buffer = null;
        var reader = _writeQueue.Reader;
        var token = _abort.Token;
        try
        {
            while (true)
            {
                if (!HasControl() && !reader.TryPeek(out _))
                {
                    // Nothing to write: give the coalescing buffer back while idle, rent it again when frames come.
                    ReturnWriteBuffer(ref buffer);
                    if (!await reader.WaitToReadAsync(token).ConfigureAwait(false) && !HasControl())
                    {
                        // Queue completed and drained: the graceful go-away goes last.
                        YamuxFrameHeader? last;
                        lock (_controlSync) (last, _finalGoAway) = (_finalGoAway, null);
                        if (last is { } goAway)
                        {
                            byte[] header = new byte[YamuxFrameHeader.Size];
                            goAway.Write(header);
                            await EnterGateAsync(token).ConfigureAwait(false);
                            try
                            {
                                await _connection.WriteAsync(header, token).ConfigureAwait(false);
                                await _connection.FlushAsync(token).ConfigureAwait(false);
                            }
                            finally
                            {
                                Volatile.Write(ref _writeGate, 0);
                            }
                        }
                        break;
                    }
                }
                // A stream writing a frame inline holds the gate for that frame only.
                await EnterGateAsync(token).ConfigureAwait(false);
                try
                {
                    if (buffer is null)
                    {
                        buffer = ArrayPool<byte>.Shared.Rent(WriteBufferSize);
                        Volatile.Write(ref _writeBuffer, buffer);
                    }
                    int pos = 0, batch = 0;
                    while (true)
                    {
                        while (TryDequeueControl(out var control))
                        {
                            if (pos + YamuxFrameHeader.Size > buffer.Length)
                            {
                                await WriteOutAsync(buffer.AsMemory(0, pos), token).ConfigureAwait(false);
                                pos = 0;
                            }
                            control.Write(buffer.AsSpan(pos));
                            pos += YamuxFrameHeader.Size;
                        }
                        if (batch >= MaxWriteBatchBytes || !reader.TryRead(out var frame)) break;
                        if (frame.IsDoorbell) continue;
                        var header = frame.Header;
                        bool reset = frame.Stream?.OnFrameWriting((header.Flags & YamuxFlags.Syn) != 0) ?? false;
                        if (_dropData || (reset && (header.Flags & YamuxFlags.Syn) == 0))
                        {
                            if (frame.Payload is not null) ArrayPool<byte>.Shared.Return(frame.Payload);
                            continue;
                        }
                        if (reset) header = header with { Flags = header.Flags | YamuxFlags.Rst };
                        int length = frame.Payload is null ? 0 : (int)header.Length;
                        if (frame.Payload is { } body && length >= DirectWriteThreshold)
                        {
                            // Large body: write what is coalesced so far, then header and body from the payload itself.
                            if (pos > 0) await WriteOutAsync(buffer.AsMemory(0, pos), token).ConfigureAwait(false);
                            batch += pos + YamuxFrameHeader.Size + length;
                            pos = 0;
                            header.Write(body);
                            if (_connectionGathering is { } gathering)
                            {
                                // Header and body in frames of their own: the remote decrypts the body straight into the
                                // stream's buffer, and the frames of the batch leave together on flush.
                                await gathering.WriteGatheredAsync(body.AsMemory(0, YamuxFrameHeader.Size), token).ConfigureAwait(false);
                                await gathering.WriteGatheredAsync(body.AsMemory(YamuxFrameHeader.Size, length), token).ConfigureAwait(false);
                            }
                            else
                            {
                                await _connection.WriteAsync(body.AsMemory(0, YamuxFrameHeader.Size + length), token).ConfigureAwait(false);
                            }
                            ArrayPool<byte>.Shared.Return(body);
                            continue;
                        }
                        if (pos + YamuxFrameHeader.Size + length > buffer.Length)
                        {
                            await WriteOutAsync(buffer.AsMemory(0, pos), token).ConfigureAwait(false);
                            batch += pos;
                            pos = 0;
                        }
                        header.Write(buffer.AsSpan(pos));
                        pos += YamuxFrameHeader.Size;
                        if (frame.Payload is not null)
                        {
                            frame.Payload.AsSpan(YamuxFrameHeader.Size, length).CopyTo(buffer.AsSpan(pos));
                            pos += length;
                            ArrayPool<byte>.Shared.Return(frame.Payload);
                        }
                    }
                    if (pos > 0) await WriteOutAsync(buffer.AsMemory(0, pos), token).ConfigureAwait(false);
                    await _connection.FlushAsync(token).ConfigureAwait(false);
                }
                finally
                {
                    Volatile.Write(ref _writeGate, 0);
                }
            }
        }
        catch (Exception ex) when (_shuttingDown && ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Aborted while closing.
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            YamuxLog.ConnectionError(_logger, ex);
            BeginShutdown(new YamuxException(YamuxError.ConnectionLost, "writing to the connection failed", ex), null, drain: false, "write failed");
        }
        catch (Exception ex)
        {
            YamuxLog.InternalError(_logger, ex);
            BeginShutdown(new YamuxException(YamuxError.InternalError, "the yamux write loop failed", ex), null, drain: false, "internal error");
        }
        finally
        {
            ReturnWriteBuffer(ref buffer);
            _writeQueue.Writer.TryComplete();
            while (reader.TryRead(out var left))
            {
                if (left.Payload is not null) ArrayPool<byte>.Shared.Return(left.Payload);
            }
        }
    }

    /// <summary>A write of the batch: gathered until the flush when the connection can (Noise), else written at once.</summary>
    private ValueTask WriteOutAsync(ReadOnlyMemory<byte> data, CancellationToken token) =>
        _connectionGathering is { } gathering ? gathering.WriteGatheredAsync(data, token) : _connection.WriteAsync(data, token);

    private void ReturnWriteBuffer(ref byte[]? buffer)
    {
        if (buffer is null) return;
        Volatile.Write(ref _writeBuffer, null);
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = null;
    }

    private void ReturnReadBuffer()
    {
        _readStart = _readEnd = 0;
        if (_readBuffer.Length == 0) return;
        byte[] buffer = _readBuffer;
        Volatile.Write(ref _readBuffer, []);
        ArrayPool<byte>.Shared.Return(buffer);
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await FillAsync(YamuxFrameHeader.Size).ConfigureAwait(false))
            {
                var header = YamuxFrameHeader.Read(_readBuffer.AsSpan(_readStart));
                _readStart += YamuxFrameHeader.Size;
                if (!await HandleFrameAsync(header).ConfigureAwait(false)) return;
            }
            // A remote that closes on purpose says go-away first; an end of stream without one is a lost connection (a
            // killed process, a middlebox): the layers above resume rather than end their sessions.
            bool goneAway;
            lock (_sync) goneAway = _remoteGoAway;
            BeginShutdown(goneAway ? null : new YamuxException(YamuxError.ConnectionLost, "the connection ended without go-away"), null, drain: false,
                "connection closed by the remote");
        }
        catch (YamuxException ex) when (!_shuttingDown)
        {
            YamuxLog.ProtocolViolation(_logger, ex.Error, ex.Message);
            BeginShutdown(ex, YamuxGoAwayCode.ProtocolError, drain: false, "protocol violation");
        }
        catch (Exception ex) when (_shuttingDown && ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The connection was closed because the session is ending (YamuxException is an IOException).
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            YamuxLog.ConnectionError(_logger, ex);
            BeginShutdown(new YamuxException(YamuxError.ConnectionLost, "reading from the connection failed", ex), null, drain: false, "read failed");
        }
        catch (Exception ex)
        {
            YamuxLog.InternalError(_logger, ex);
            BeginShutdown(new YamuxException(YamuxError.InternalError, "the yamux read loop failed", ex), YamuxGoAwayCode.InternalError, drain: false, "internal error");
        }
        finally
        {
            ReturnReadBuffer();
        }
    }

    /// <summary>Handles one frame whose header was consumed; false ends the read loop.</summary>
    private async ValueTask<bool> HandleFrameAsync(YamuxFrameHeader header)
    {
        if (header.Version != YamuxFrameHeader.ProtocolVersion)
        {
            throw new YamuxException(YamuxError.BadVersion, $"unsupported yamux version {header.Version}");
        }
        switch (header.Type)
        {
            case YamuxFrameType.Data:
            case YamuxFrameType.WindowUpdate:
                await HandleStreamFrameAsync(header).ConfigureAwait(false);
                return true;
            case YamuxFrameType.Ping:
                if (header.StreamId != 0) throw new YamuxException(YamuxError.ProtocolError, "ping on a non-zero stream id");
                if ((header.Flags & YamuxFlags.Syn) != 0)
                {
                    EnqueueControl(new YamuxFrameHeader(YamuxFrameType.Ping, YamuxFlags.Ack, 0, header.Length));
                }
                else if ((header.Flags & YamuxFlags.Ack) != 0)
                {
                    TaskCompletionSource? pong;
                    lock (_sync) _pings.TryGetValue(header.Length, out pong);
                    pong?.TrySetResult();
                }
                return true;
            case YamuxFrameType.GoAway:
                if (header.StreamId != 0) throw new YamuxException(YamuxError.ProtocolError, "go-away on a non-zero stream id");
                YamuxLog.RemoteGoAway(_logger, header.Length);
                if (header.Length != (uint)YamuxGoAwayCode.Normal)
                {
                    var error = new YamuxException(YamuxError.RemoteGoAway, $"the remote ended the session with go-away code {header.Length}");
                    BeginShutdown(error, null, drain: false, "remote go-away with error");
                    return false;
                }
                lock (_sync) _remoteGoAway = true;
                _acceptQueue.Writer.TryComplete();
                return true;
            default:
                throw new YamuxException(YamuxError.UnknownType, $"unknown yamux frame type {(byte)header.Type}");
        }
    }

    private async ValueTask HandleStreamFrameAsync(YamuxFrameHeader header)
    {
        uint id = header.StreamId;
        if (id == 0) throw new YamuxException(YamuxError.ProtocolError, $"{header.Type} frame on stream 0");
        bool isData = header.Type == YamuxFrameType.Data;
        // Nothing may be buffered beyond the receive window: check the length before reading the body (against the
        // largest window auto-tuning may give; the stream then checks its own).
        if (isData && header.Length > (uint)Math.Max(_options.InitialWindowSize, _options.MaxWindowSize))
        {
            throw new YamuxException(YamuxError.WindowOverrun, $"data frame of {header.Length} bytes exceeds the receive window");
        }
        YamuxStream? stream;
        if ((header.Flags & YamuxFlags.Syn) != 0)
        {
            stream = OpenInbound(id);
        }
        else
        {
            bool known;
            lock (_sync)
            {
                known = _streams.TryGetValue(id, out stream);
                if (!known && (header.Flags & YamuxFlags.Rst) == 0 && !WasOpened(id))
                {
                    throw new YamuxException(YamuxError.UnknownStream, $"frame for stream {id}, which was never opened");
                }
            }
            if (!known) YamuxLog.DiscardedFrame(_logger, id, isData ? header.Length : 0);
        }
        if (stream is null)
        {
            if (isData) await DiscardAsync((int)header.Length).ConfigureAwait(false);
            return;
        }
        if ((header.Flags & YamuxFlags.Ack) != 0)
        {
            lock (_sync) MarkAcked(stream);
        }
        if (isData)
        {
            if (header.Length > 0) await ReceiveBodyAsync(stream, (int)header.Length).ConfigureAwait(false);
        }
        else if (header.Length > 0)
        {
            stream.OnWindowUpdate(header.Length);
        }
        if ((header.Flags & YamuxFlags.Rst) != 0)
        {
            stream.OnRemoteReset();
            Forget(stream);
        }
        else if ((header.Flags & YamuxFlags.Fin) != 0)
        {
            stream.OnRemoteFin();
            TryRemove(stream);
        }
    }

    /// <summary>Must hold <see cref="_sync"/>. True when <paramref name="id"/> was opened by either side at some point.</summary>
    private bool WasOpened(uint id) => IsLocalId(id) ? id < _nextStreamId : id <= _highestRemoteId;

    private bool IsLocalId(uint id) => (id % 2 == 1) == _isClient;

    /// <summary>Registers a stream the remote opened, or rejects it with RST (returns null).</summary>
    private YamuxStream? OpenInbound(uint id)
    {
        if (IsLocalId(id)) throw new YamuxException(YamuxError.InvalidStreamId, $"remote opened stream {id} with this side's parity");
        string? rejected = null;
        YamuxStream? stream = null;
        bool backlogExceeded = false;
        lock (_sync)
        {
            if (_streams.ContainsKey(id)) throw new YamuxException(YamuxError.DuplicateStream, $"SYN for stream {id}, which is open");
            if (id > _highestRemoteId) _highestRemoteId = id;
            if (_shuttingDown || _localGoAway) rejected = "going away";
            else if (_remoteGoAway) rejected = "the remote went away";
            else if (_inboundCount >= _options.MaxStreams) rejected = "too many streams";
            else
            {
                stream = new YamuxStream(this, id, outbound: false, _options);
                // Cannot fail: the queue's capacity is MaxStreams and every queued stream is counted.
                if (!_acceptQueue.Writer.TryWrite(stream))
                {
                    rejected = "the session is closing";
                    stream = null;
                }
                else
                {
                    stream.Counted = true;
                    _inboundCount++;
                    _streams.Add(id, stream);
                    if (Interlocked.Increment(ref _pendingAccept) > _options.AcceptBacklog && !_backlogLogged)
                    {
                        _backlogLogged = true;
                        backlogExceeded = true;
                    }
                }
            }
        }
        if (backlogExceeded) YamuxLog.AcceptBacklogExceeded(_logger, _options.AcceptBacklog);
        if (rejected is not null)
        {
            YamuxLog.StreamRejected(_logger, id, rejected);
            SendReset(id);
        }
        return stream;
    }

    private async ValueTask ReceiveBodyAsync(YamuxStream stream, int length)
    {
        // Charge the body before reading it; past a limit, wait here (the connection is not read meanwhile, so TCP
        // pauses the sender) until the application reads what the streams hold.
        var budget = Volatile.Read(ref _budget);
        bool charged = budget is not null && stream.WillBuffer;
        if (charged && !budget!.TryReserve(length, firstAttempt: true)) await WaitForBudgetAsync(budget, length).ConfigureAwait(false);
        var (first, second, credit) = stream.BeginReceive(length);
        if (first.IsEmpty)
        {
            if (charged) ReleaseBuffered(length);
            if (credit > 0) SendWindowUpdate(stream, (uint)credit);
            await DiscardAsync(length).ConfigureAwait(false);
            return;
        }
        await ReadIntoAsync(first).ConfigureAwait(false);
        if (!second.IsEmpty) await ReadIntoAsync(second).ConfigureAwait(false);
        if (!stream.EndReceive(length) && charged) ReleaseBuffered(length);
    }

    private async ValueTask WaitForBudgetAsync(IYamuxBufferBudget budget, int length)
    {
        _budgetPaused = true;
        try
        {
            while (true)
            {
                var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _budgetWaiter, waiter);
                // Tried after publishing the waiter, so a release in between is not missed.
                if (budget.TryReserve(length, firstAttempt: false)) return;
                try
                {
                    await waiter.Task.WaitAsync(BudgetRecheckInterval, _abort.Token).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // Look again: other connections of the peer or the host may have freed bytes.
                }
            }
        }
        finally
        {
            Volatile.Write(ref _budgetWaiter, null);
            _budgetPaused = false;
        }
    }

    /// <summary>
    /// Ensures at least <paramref name="count"/> bytes are buffered; false on a clean end of the connection.
    /// Between frames a drained buffer goes back to the pool and the read waits with a zero-byte read; inside a
    /// frame (<paramref name="inFrame"/>) the rest is on its way, so the buffer is kept and read into at once.
    /// </summary>
    private async ValueTask<bool> FillAsync(int count, bool inFrame = false)
    {
        if (_readEnd - _readStart >= count) return true;
        if (_readStart == _readEnd && inFrame)
        {
            _readStart = _readEnd = 0;
            if (_readBuffer.Length == 0) Volatile.Write(ref _readBuffer, ArrayPool<byte>.Shared.Rent(ReadBufferSize));
        }
        else if (_readStart == _readEnd)
        {
            // Drained: return the buffer and wait for bytes with a zero-byte read (Kestrel's model), so an idle
            // session holds no input buffer; the rent and the read below then complete without waiting.
            ReturnReadBuffer();
            await _connection.ReadAsync(Memory<byte>.Empty, _abort.Token).ConfigureAwait(false);
            Volatile.Write(ref _readBuffer, ArrayPool<byte>.Shared.Rent(ReadBufferSize));
        }
        else if (_readStart > 0)
        {
            _readBuffer.AsSpan(_readStart, _readEnd - _readStart).CopyTo(_readBuffer);
            _readEnd -= _readStart;
            _readStart = 0;
        }
        while (_readEnd < count)
        {
            // Bytes were signalled by the zero-byte read, or a frame is partly here: no further wait below.
            int n = await _connection.ReadExpectedAsync(_connectionExpected, _readBuffer.AsMemory(_readEnd), _abort.Token).ConfigureAwait(false);
            if (n == 0)
            {
                if (_readEnd == 0) return false;
                throw new EndOfStreamException("the connection ended inside a yamux frame");
            }
            _readEnd += n;
        }
        return true;
    }

    /// <summary>Copies the next bytes of the connection into <paramref name="destination"/>, reading large bodies directly.</summary>
    private async ValueTask ReadIntoAsync(Memory<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int buffered = _readEnd - _readStart;
            if (buffered > 0)
            {
                int n = Math.Min(buffered, destination.Length);
                _readBuffer.AsSpan(_readStart, n).CopyTo(destination.Span);
                _readStart += n;
                destination = destination[n..];
            }
            else if (destination.Length >= DirectReadThreshold)
            {
                int n = await _connection.ReadExpectedAsync(_connectionExpected, destination, _abort.Token).ConfigureAwait(false);
                if (n == 0) throw new EndOfStreamException("the connection ended inside a yamux frame");
                destination = destination[n..];
            }
            else
            {
                _readStart = _readEnd = 0;
                if (!await FillAsync(1, inFrame: true).ConfigureAwait(false)) throw new EndOfStreamException("the connection ended inside a yamux frame");
            }
        }
    }

    private async ValueTask DiscardAsync(int length)
    {
        while (length > 0)
        {
            if (_readEnd == _readStart)
            {
                _readStart = _readEnd = 0;
                if (!await FillAsync(1, inFrame: true).ConfigureAwait(false)) throw new EndOfStreamException("the connection ended inside a yamux frame");
            }
            int n = Math.Min(length, _readEnd - _readStart);
            _readStart += n;
            length -= n;
        }
    }

    private async Task KeepAliveLoopAsync()
    {
        if (_options.KeepAliveInterval is not { } interval) return;
        var token = _abort.Token;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                timeout.CancelAfter(_options.KeepAliveTimeout);
                try
                {
                    await PingAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex) when (!token.IsCancellationRequested)
                {
                    YamuxLog.KeepAliveFailed(_logger, ex);
                    BeginShutdown(new YamuxException(YamuxError.KeepAliveTimeout, "keep-alive ping timed out", ex),
                        YamuxGoAwayCode.InternalError, drain: false, "keep-alive timeout");
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or YamuxException)
        {
            // Session ended.
        }
    }
}
