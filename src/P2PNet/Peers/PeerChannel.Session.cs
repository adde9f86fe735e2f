using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Peers.Packets;
using P2PNet.Swarm;

namespace P2PNet.Peers;

// The channel's life: hello exchange, the read and write loops of a session, reconnects, shutdown.
public sealed partial class PeerChannel
{
    /// <summary>One stream's worth of the channel: a new one after each reconnect.</summary>
    internal sealed class Session(MuxedStream stream, Connection connection, PipeReader reader)
    {
        public MuxedStream Stream { get; } = stream;
        public Connection Connection { get; } = connection;
        public PipeReader Reader { get; } = reader;
        public CancellationTokenSource Stop { get; } = new();
        public Task WriteLoop { get; set; } = Task.CompletedTask;
        public TaskCompletionSource ReadEnded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>Completes once the channel no longer uses the stream (an inbound stream handler waits for it).</summary>
        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>The peer's hello on this stream (null when the caller did not keep it).</summary>
        public ChannelHello? Theirs { get; init; }
        /// <summary>The hello we sent (or will send, for a resumed inbound session).</summary>
        public ChannelHello? Ours { get; set; }
        /// <summary>The last sequence number acknowledged on this stream (the writer's).</summary>
        public long AckWritten;
        /// <summary>The last sequence number the writer put in an acknowledgement (written or about to be).</summary>
        public long AckTaken;
        /// <summary>Set when the connection failed (reset, read or write error) rather than closed cleanly.</summary>
        public volatile bool Failed;
        /// <summary>Set when a relay ended the circuit under this session at its time or data limit.</summary>
        public volatile bool RelayLimit;
        /// <summary>Set when the session stops to move onto a direct connection (outbound, from a limited one).</summary>
        public volatile bool Moving;
        public int Ended;
    }

    private int _started;
    // What ended the last session (connection closed, lost, a failed redial): the CloseReason when nothing more specific is known.
    private volatile string? _lastLoss;

    /// <summary>
    /// The channel's read pipe over <paramref name="stream"/> (left open: the session disposes the stream). It rents while
    /// bytes flow and returns every segment once they are consumed; with zero-byte reads (see IdleReadStream) an idle
    /// channel holds no read buffer at all. Its segments grow while the peer is ahead of us (see ReadSegmentPool).
    /// </summary>
    internal static PipeReader CreateReader(Stream stream) => CreateReader(stream, new ReadSegmentPool());

    /// <summary>The channel's read pipe over <paramref name="stream"/>, with its segments from <paramref name="pool"/>.</summary>
    internal static PipeReader CreateReader(Stream stream, ReadSegmentPool pool)
    {
        return PipeReader.Create(new IdleReadStream(stream, pool), new StreamPipeReaderOptions(
            pool, bufferSize: ReadSegmentPool.MinSegment, minimumReadSize: 2048, leaveOpen: true, useZeroByteReads: true));
    }

    /// <summary>Writes our hello frame.</summary>
    internal static async Task WriteHelloAsync(Stream stream, ChannelHello hello, CancellationToken cancellationToken)
    {
        var frame = new ArrayBufferWriter<byte>(256);
        PacketCodec.WriteHello(frame, hello);
        await stream.WriteAsync(frame.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Refuses a channel instead of sending our hello: a Disconnect frame carrying the reason and the
    /// <see cref="PeerNetworkError"/> name (docs/protocol.md), then the end of our write half.
    /// </summary>
    internal static async Task WriteRefusalAsync(MuxedStream stream, PeerNetworkError error, string reason, CancellationToken cancellationToken)
    {
        var frame = new ArrayBufferWriter<byte>(256);
        string text = reason.Length > PacketCodec.MaxTextLength ? reason[..PacketCodec.MaxTextLength] : reason;
        PacketCodec.Write(frame, new DisconnectPacket(text) { Refusal = error.ToString() });
        await stream.WriteAsync(frame.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the peer's hello, which must be the first frame, within <paramref name="timeout"/>. A refusal (a Disconnect
    /// frame in its place) throws <see cref="PeerNetworkException"/> with the peer's reason; anything else is a
    /// <see cref="PacketFormatException"/>, the end of the stream an <see cref="EndOfStreamException"/>, the time
    /// running out a <see cref="TimeoutException"/>. Packets sent right behind the hello stay in <paramref name="reader"/>.
    /// </summary>
    internal static async Task<ChannelHello> ReadHelloAsync(PipeReader reader, PeerId remote, int maxFrameLength, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cts.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                ChannelHello? theirs = null;
                try
                {
                    if (PacketCodec.TryReadFrame(ref buffer, out theirs, out var packet, maxFrameLength) && theirs is null)
                    {
                        if (packet is DisconnectPacket refusal) throw Refused(remote, refusal);
                        throw new PacketFormatException(PacketFormatError.Malformed, $"expected a hello, got a {packet?.Type} packet");
                    }
                }
                finally
                {
                    // After the hello, packets the peer sent right behind it may already be buffered: leave them
                    // unexamined, or the read loop would wait for more bytes before dispatching them.
                    if (theirs is not null) reader.AdvanceTo(buffer.Start);
                    else reader.AdvanceTo(buffer.Start, buffer.End);
                }
                if (theirs is not null) return theirs;
                if (result.IsCompleted) throw new EndOfStreamException("the peer closed the channel before its hello");
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no hello from {remote} within {timeout.TotalSeconds:0.###} s");
        }
    }

    private static PeerNetworkException Refused(PeerId remote, DisconnectPacket refusal)
    {
        // A refusal name this version does not know (a newer peer's) still is a refusal.
        var error = Enum.TryParse<PeerNetworkError>(refusal.Refusal, ignoreCase: false, out var known) && Enum.IsDefined(known) ? known : PeerNetworkError.Rejected;
        return new PeerNetworkException(error, $"{remote} refused the channel ({error}): {refusal.Reason ?? "no reason given"}");
    }

    /// <summary>Starts the channel on its first session (state Open).</summary>
    internal void Start(Session session)
    {
        Interlocked.Exchange(ref _started, 1);
        BeginSession(session);
        Attach(session);
        SetState(PeerChannelState.Open);
        _run = RunAsync(session);
    }

    private void Attach(Session session)
    {
        _session = session;
        _peer.Attach(session.Connection.Socket, session.Stream, session.Connection.RemoteAddress.ToIPEndPoint());
        session.WriteLoop = WriteLoopAsync(session);
    }

    private async Task RunAsync(Session session)
    {
        await Task.Yield();
        bool gaveUp = false;
        try
        {
            while (true)
            {
                await ReadLoopAsync(session).ConfigureAwait(false);
                if (session.Moving && !_noRetry && !_lifetime.IsCancellationRequested && await MoveAsync(session).ConfigureAwait(false) is { } moved)
                {
                    session = moved;
                    continue;
                }
                await EndSessionAsync(session).ConfigureAwait(false);
                if (_noRetry || _lifetime.IsCancellationRequested) break;
                var previous = session;
                if (previous.RelayLimit)
                {
                    RelayedChannelLog.RelayLimitReached(_logger, Identifier, _lastLoss ?? "relay limit");
                    RaiseReopen(opened: false, ChannelReopenReason.RelayLimit, _lastLoss ?? "the relay limit ended the circuit");
                }
                Session? next;
                if (Direction == ConnectionDirection.Outbound)
                {
                    if (_services.Options.MaxConnectRetries <= 0) break;
                    SetState(PeerChannelState.Reconnecting);
                    next = await ReconnectAsync().ConfigureAwait(false);
                    if (next is null)
                    {
                        gaveUp = !_lifetime.IsCancellationRequested && !_noRetry;
                        break;
                    }
                    ResumeOutbound(next);
                }
                else
                {
                    // The dialer redials: wait for it to resume the session, when the connection failed (not when it
                    // was closed on purpose) and the peer knows sessions.
                    if (!ShouldAwaitResume(session)) break;
                    next = await AwaitResumeAsync().ConfigureAwait(false);
                    if (next is null) break;
                }
                session = next;
                Attach(session);
                SetState(PeerChannelState.Open);
                CompleteResumeOffer(session);
                ReportReopened(previous, session);
            }
        }
        catch (Exception ex)
        {
            _lastLoss = $"channel failed: {ex.Message}";
            PeersLog.ChannelFailed(_logger, Identifier, ex.Message);
        }
        finally
        {
            await EndSessionAsync(session).ConfigureAwait(false);
            Finish(gaveUp);
        }
    }

    private async Task ReadLoopAsync(Session session)
    {
        var reader = session.Reader;
        var ct = session.Stop.Token;
        int maxFrame = _services.Options.MaxFrameLength;
        bool reliable = _sessionId is not null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(ct).ConfigureAwait(false);
                var buffer = result.Buffer;
                bool received = false;
                long length = buffer.Length;
                bool entered = false;
                PeerChannel? previous = null;
                try
                {
                    while (PacketCodec.TryReadChannelFrame(ref buffer, out var hello, out var packet, out long ack, maxFrame))
                    {
                        if (hello is not null) throw new PacketFormatException(PacketFormatError.Malformed, "a second hello on an open channel");
                        if (ack >= 0)
                        {
                            if (!reliable) throw new PacketFormatException(PacketFormatError.UnknownType, $"unknown frame type {PacketCodec.AckFrameType}");
                            OnAck(ack);
                            continue;
                        }
                        if (!entered)
                        {
                            previous = _services.Handlers.Enter(this); // CurrentChannel, once per batch
                            entered = true;
                        }
                        if (reliable && packet is DisconnectPacket)
                        {
                            // The sender learns that everything up to its Disconnect arrived before we end the session.
                            Volatile.Write(ref _lastReceived, _lastReceived + 1);
                            received = true;
                            await FlushAckAsync(session).ConfigureAwait(false);
                            Dispatch(packet);
                            continue;
                        }
                        if (reliable) Volatile.Write(ref _handlingThread, Environment.CurrentManagedThreadId);
                        Dispatch(packet!);
                        if (reliable)
                        {
                            // Counted (and so acknowledgeable, by the writer at any moment) only once the handlers have it:
                            // an acknowledgement riding on one of our packets must never confirm a packet still being handled,
                            // unless a handler of it sent that packet (AppendAck).
                            Volatile.Write(ref _handlingThread, 0);
                            Volatile.Write(ref _lastReceived, _lastReceived + 1); // this packet's sequence number
                            received = true;
                        }
                    }
                }
                finally
                {
                    if (entered) _services.Handlers.Exit(this, previous);
                    if (Volatile.Read(ref _handlingThread) != 0)
                    {
                        // An exception out of a dispatch (not a handler's: Dispatch catches those). If a reply of its handler
                        // acknowledged the packet, it counts as received, so that a resume never announces less.
                        Volatile.Write(ref _handlingThread, 0);
                        if (Volatile.Read(ref session.AckTaken) > _lastReceived) Volatile.Write(ref _lastReceived, _lastReceived + 1);
                    }
                    reader.AdvanceTo(buffer.Start, buffer.End);
                }
                if (received) AcknowledgeLater(session, length - buffer.Length);
                if (result.IsCompleted)
                {
                    _lastLoss = "connection closed by the peer"; // the peer closed the stream without a Disconnect
                    return;
                }
            }
        }
        catch (PacketFormatException ex)
        {
            // A malformed or hostile peer loses its connection, without retry.
            _noRetry = true;
            _closeReason = $"protocol violation: {ex.Message}";
            PeersLog.MalformedFrame(_logger, Identifier, ex.Error, ex.Message);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            _lastLoss = $"connection lost: {ex.Message}";
            // A reader completed under us while the connection died (its stream handler gave up) is that death too.
            if (IsFailure(ex) || (ex is InvalidOperationException && !session.Connection.IsOpen)) session.Failed = true;
            if (FindRelayLimit(ex) is { } limit)
            {
                session.Failed = true;
                session.RelayLimit = true;
                _lastLoss = limit.Message;
            }
            PeersLog.ConnectionLost(_logger, Identifier, ex.Message);
        }
        finally
        {
            session.ReadEnded.TrySetResult();
        }
    }

    private async Task WriteLoopAsync(Session session)
    {
        await Task.Yield();
        var queue = _sendQueue;
        var ct = session.Stop.Token;
        bool reliable = _sessionId is not null;
        using var batch = new PooledBatch();
        using var writer = new PacketWriter(_services.Options.MaxFrameLength);
        bool onWakerThread = false;
        try
        {
            if (reliable) await ReplayAsync(session, batch, writer, ct).ConfigureAwait(false);
            // A stopped session wakes the loop if it waits, on the pool.
            using var wakeOnStop = ct.UnsafeRegister(static park => ((WriterPark)park!).Wake(here: false), _park);
            while (true)
            {
                int count = 0;
                // The window as it stands now, read once per batch: the read loop's acknowledgements write these fields,
                // and reading them per packet cost a cache-line transfer each (a few percent of the 64 B rate). An
                // acknowledgement arriving meanwhile only makes this batch end early.
                int unackedCount = reliable ? _unacked.Count : 0;
                long unackedBytes = reliable ? _unacked.Bytes : 0;
                int maxPackets = _services.Options.MaxUnacknowledgedPackets;
                long maxBytes = _services.Options.MaxUnacknowledgedBytes;
                try
                {
                    while (batch.WrittenCount < MaxWriteBatch && !(reliable && WindowFull(unackedCount + _unacked.Staged, unackedBytes + _unacked.StagedBytes, maxPackets, maxBytes)) && queue.TryRead(out var item))
                    {
                        if (item.Packet is not { } packet)
                        {
                            Volatile.Write(ref _wakeQueued, 0); // a wake-up: an acknowledgement is due
                            continue;
                        }
                        int bytes;
                        try
                        {
                            bytes = writer.Write(batch, packet);
                            count++;
                        }
                        catch (PacketFormatException ex)
                        {
                            // Checked in SendAsync already; a packet mutated after queueing is dropped, not the connection.
                            PeersLog.PacketNotSent(_logger, packet.Type, Identifier, ex.Message);
                            item.Acked?.TrySetException(ex);
                            continue;
                        }
                        // Staged packets count in the window check above until published.
                        if (reliable) _unacked.Stage(packet, bytes, item.Acked);
                        else item.Acked?.TrySetResult(); // a peer without acknowledgements: written is all we learn
                    }
                }
                finally
                {
                    // Kept for replay before they are written (nothing awaits in between), and reported if the loop fails.
                    if (reliable) _unacked.Publish();
                    // Senders may refill the room of this batch while it is written.
                    queue.EndBatch();
                }
                // The read loop holds back a lone acknowledgement (AcknowledgeLater): whatever we write now carries it.
                long ack = reliable ? AppendAck(session, batch) : -1;
                if (batch.WrittenCount > 0)
                {
                    // A reply (packets came in since our last write, and nothing else waits to go) may leave from this
                    // thread when the muxer is idle: one thread hop fewer per round trip. A stream of sends, or a lone
                    // acknowledgement, is handed to the muxer's writer: its hop lets more gather into each send.
                    long received = Volatile.Read(ref _received);
                    bool reply = WritesInline && count > 0 && received != Volatile.Read(ref _receivedAtLastWrite) && !queue.HasItems();
                    Volatile.Write(ref _receivedAtLastWrite, received);
                    await session.Stream.WriteAsync(batch.WrittenMemory, moreFollows: !reply, ct).ConfigureAwait(false);
                    if (ack >= 0) AckWritten(session, ack);
                    if (count == 0) Volatile.Write(ref _loneAcks, _loneAcks + 1); // only the writer writes it
                    if (count > 0)
                    {
                        Interlocked.Add(ref _sent, count);
                        _services.Metrics.PacketsSent(count);
                    }
                }
                // Keep the buffer while more is queued; give it back when the queue is drained.
                if (queue.HasItems()) batch.Reset();
                else
                {
                    batch.Release();
                    queue.TrimIdle();
                    // A burst of small packets grows the ring to thousands of entries: an idle channel keeps 256 at most.
                    if (reliable) _unacked.ShrinkIfEmpty();
                }
                if (count > 0 || ack >= 0)
                {
                    if (onWakerThread)
                    {
                        // Woken by a reply on the replying thread (a channel's read loop, most often), we wrote it; what
                        // else is queued is other senders' and goes on the pool, so that the waker gets its thread back.
                        onWakerThread = false;
                        if (queue.HasItems()) await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
                    }
                    continue;
                }
                if (reliable && WindowFull() && queue.HasItems())
                {
                    await WaitForWindowAsync(session, ct).ConfigureAwait(false);
                    continue;
                }
                // Wait for something to send, in the park rather than in the queue's WaitToReadAsync, so that a reply can
                // wake this loop on the replying thread. Ends once the queue is completed and empty.
                if (queue.HasItems()) continue;
                if (queue.IsCompletedAndEmpty) break;
                ct.ThrowIfCancellationRequested();
                _park.Prepare();
                if (!(queue.HasItems() || queue.IsCompletedAndEmpty || ct.IsCancellationRequested) || !_park.TryCancel())
                {
                    await _park.WaitAsync().ConfigureAwait(false);
                    onWakerThread = _park.LastWakeWasHere;
                }
                ct.ThrowIfCancellationRequested();
            }
            // The queue was completed (graceful close): half-close so the peer reads to the end.
            await session.Stream.CloseWriteAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            _lastLoss = $"connection lost: {ex.Message}";
            // A reader completed under us while the connection died (its stream handler gave up) is that death too.
            if (IsFailure(ex) || (ex is InvalidOperationException && !session.Connection.IsOpen)) session.Failed = true;
            if (FindRelayLimit(ex) is { } limit)
            {
                session.Failed = true;
                session.RelayLimit = true;
                _lastLoss = limit.Message;
            }
            PeersLog.ConnectionLost(_logger, Identifier, ex.Message);
            await session.Stop.CancelAsync().ConfigureAwait(false); // end the read side of this session too
        }
    }

    private static bool IsPowerOfTen(long n)
    {
        while (n >= 10 && n % 10 == 0) n /= 10;
        return n == 1;
    }

    private void Dispatch(NetworkPacket packet)
    {
        Interlocked.Increment(ref _received);
        var required = IncomingPeerTrustPolicy.RequiredLevel(packet.Type);
        if (TrustLevel < required)
        {
            Interlocked.Increment(ref _dropped);
            _services.Metrics.PacketDropped(packet.Type);
            // A peer that keeps sending what it may not must not flood the log: per type, the 1st, 10th, 100th… drop is logged.
            int slot = Math.Clamp((int)packet.Type, 0, _droppedByType.Length - 1);
            long ofType = Interlocked.Increment(ref _droppedByType[slot]);
            if (IsPowerOfTen(ofType)) PeersLog.PacketDropped(_logger, packet.Type, Identifier, TrustLevel, required, ofType);
            return;
        }
        _services.Metrics.PacketReceived(packet.Type);
        if (packet is DisconnectPacket disconnect)
        {
            _noRetry = true; // a clean disconnect is never retried, whatever the handler does
            _closeReason = $"peer disconnected: {disconnect.Reason}";
        }
        try
        {
            _services.Handlers.DispatchEntered(this, packet);
        }
        catch (Exception ex)
        {
            PeersLog.HandlerFailed(_logger, packet.Type, Identifier, ex.Message);
        }
        var handler = DataReceived;
        if (handler is not null || _services.HasPacketListeners)
        {
            // Only allocated when someone listens: this runs once per packet on the read loop.
            var args = new PacketReceivedEventArgs(this, packet);
            try
            {
                handler?.Invoke(this, args);
            }
            catch (Exception ex)
            {
                PeersLog.HandlerFailed(_logger, packet.Type, Identifier, ex.Message);
            }
            _services.PacketReceived(args);
        }
        CompleteWaiters(packet);
    }

    private void CompleteWaiters(NetworkPacket packet)
    {
        // Once the channel is active and nobody waits in ReceiveAsync (the common case), no lock per packet.
        if (Volatile.Read(ref _waiterCount) == 0 && Volatile.Read(ref _unclaimed) is null) return;
        List<TaskCompletionSource<NetworkPacket>>? done = null;
        lock (_sync)
        {
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                var (filter, tcs) = _waiters[i];
                if (tcs.Task.IsCompleted) _waiters.RemoveAt(i); // cancelled
                else if (Matches(filter, packet))
                {
                    _waiters.RemoveAt(i);
                    (done ??= []).Add(tcs);
                }
            }
            Volatile.Write(ref _waiterCount, _waiters.Count);
            if (done is null && _unclaimed is { } unclaimed)
            {
                if (unclaimed.Count >= MaxUnclaimedPackets) unclaimed.Dequeue();
                unclaimed.Enqueue(packet);
            }
        }
        if (done is not null) foreach (var tcs in done) tcs.TrySetResult(packet);
    }

    /// <summary>Removes and returns the oldest unclaimed packet matching <paramref name="filter"/> (under <c>_sync</c>).</summary>
    private NetworkPacket? TakeUnclaimed(Func<NetworkPacket, bool> filter)
    {
        if (_unclaimed is not { Count: > 0 } unclaimed) return null;
        NetworkPacket? found = null;
        for (int i = unclaimed.Count; i > 0; i--)
        {
            var packet = unclaimed.Dequeue();
            if (found is null && Matches(filter, packet)) found = packet;
            else unclaimed.Enqueue(packet);
        }
        return found;
    }

    /// <summary>Runs a ReceiveAsync filter; one that throws is logged and counts as no match.</summary>
    private bool Matches(Func<NetworkPacket, bool> filter, NetworkPacket packet)
    {
        try
        {
            return filter(packet);
        }
        catch (Exception ex)
        {
            PeersLog.HandlerFailed(_logger, packet.Type, Identifier, "ReceiveAsync filter: " + ex.Message);
            return false;
        }
    }

    /// <summary>The channel joined ActivePeerChannels (or closed): ReceiveAsync only waits for new packets now.</summary>
    internal void StopKeepingUnclaimed()
    {
        lock (_sync) _unclaimed = null;
    }

    private async Task<Session?> ReconnectAsync()
    {
        var options = _services.Options;
        var ct = _lifetime.Token;
        for (int attempt = 1; attempt <= options.MaxConnectRetries; attempt++)
        {
            var delay = TimeSpan.FromTicks(Math.Min(options.RetryMaxDelay.Ticks, options.RetryBaseDelay.Ticks << Math.Min(attempt - 1, 20)));
            PeersLog.Reconnecting(_logger, Identifier, attempt, options.MaxConnectRetries, delay.TotalMilliseconds);
            try
            {
                await Task.Delay(delay, ct).ConfigureAwait(false);
                return await _services.ReopenAsync(this, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return null;
            }
            catch (Exception ex)
            {
                _lastLoss = $"reconnect {attempt} failed: {ex.Message}";
                PeersLog.ReconnectFailed(_logger, Identifier, attempt, ex.Message);
            }
        }
        return null;
    }

    private async Task EndSessionAsync(Session session)
    {
        if (Interlocked.Exchange(ref session.Ended, 1) != 0) return;
        await session.Stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await session.WriteLoop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            PeersLog.ConnectionLost(_logger, Identifier, ex.Message);
        }
        await session.Reader.CompleteAsync().ConfigureAwait(false);
        await session.Stream.DisposeAsync().ConfigureAwait(false);
        // Not awaited: closing a connection waits for its stream handlers, and an inbound channel's handler
        // waits for this channel to finish. The host awaits the close on its own disposal.
        _ = session.Connection.CloseAsync().AsTask();
        _peer.Detach();
        if (ReferenceEquals(_session, session)) _session = null;
        session.Released.TrySetResult();
    }

    /// <summary>Stops the channel for good: no retry; the run loop ends, cleans up and completes.</summary>
    internal async Task ShutdownAsync(string reason)
    {
        _noRetry = true;
        _closeReason ??= reason;
        CompleteQueue();
        await _lifetime.CancelAsync().ConfigureAwait(false);
        if (_session is { } session) await session.Stop.CancelAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _started, 1) == 0) Finish(gaveUp: false); // never started: nothing else will
        await _closed.Task.ConfigureAwait(false);
    }

    private void Finish(bool gaveUp)
    {
        // Every way of closing leaves a reason, set before the state says Closed.
        _closeReason ??= gaveUp ? $"gave up reconnecting: {_lastLoss ?? "no address answered"}" : _lastLoss ?? "connection closed";
        CompleteQueue();
        _ackTimer?.Dispose();
        ReportLost(TakeOutstanding(includeQueued: true), _closeReason);
        FailResumeOffer();
        SetState(PeerChannelState.Closed);
        lock (_sync)
        {
            foreach (var (_, tcs) in _waiters) tcs.TrySetException(new ObjectDisposedException($"the channel with {Identifier} is closed"));
            _waiters.Clear();
            Volatile.Write(ref _waiterCount, 0);
        }
        PeersLog.ChannelClosed(_logger, Identifier, _closeReason);
        _services.Closed(this, gaveUp);
        _closed.TrySetResult();
    }

    private bool TrySetState(PeerChannelState from, PeerChannelState to)
    {
        if (Interlocked.CompareExchange(ref _state, (int)to, (int)from) != (int)from) return false;
        RaiseStateChanged(to);
        return true;
    }

    private void SetState(PeerChannelState state)
    {
        if (Interlocked.Exchange(ref _state, (int)state) != (int)state) RaiseStateChanged(state);
    }

    private void RaiseStateChanged(PeerChannelState state)
    {
        try
        {
            StateChanged?.Invoke(this, state);
        }
        catch (Exception ex)
        {
            PeersLog.HandlerFailed(_logger, null, Identifier, ex.Message);
        }
    }
}
