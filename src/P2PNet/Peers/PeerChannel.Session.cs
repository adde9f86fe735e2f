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
        public int Ended;
    }

    private int _started;

    /// <summary>
    /// Exchanges hellos on a freshly negotiated stream and returns the session; throws when the peer does
    /// not answer in time or answers with something else.
    /// </summary>
    internal static async Task<(Session Session, ChannelHello Hello)> HandshakeAsync(
        MuxedStream stream, Connection connection, ChannelHello ours, int maxFrameLength, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4096, leaveOpen: true));
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(timeout);
            var hello = new ArrayBufferWriter<byte>(256);
            PacketCodec.WriteHello(hello, ours);
            await stream.WriteAsync(hello.WrittenMemory, cts.Token).ConfigureAwait(false);
            while (true)
            {
                var result = await reader.ReadAsync(cts.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                ChannelHello? theirs = null;
                try
                {
                    if (PacketCodec.TryReadFrame(ref buffer, out theirs, out var packet, maxFrameLength) && theirs is null)
                        throw new PacketFormatException(PacketFormatError.Malformed, $"expected a hello, got a {packet?.Type} packet");
                }
                finally
                {
                    // After the hello, packets the peer sent right behind it may already be buffered: leave them
                    // unexamined, or the read loop would wait for more bytes before dispatching them.
                    if (theirs is not null) reader.AdvanceTo(buffer.Start);
                    else reader.AdvanceTo(buffer.Start, buffer.End);
                }
                if (theirs is not null) return (new Session(stream, connection, reader), theirs);
                if (result.IsCompleted) throw new EndOfStreamException("the peer closed the channel before its hello");
            }
        }
        catch
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts the channel on its first session (state Open).</summary>
    internal void Start(Session session)
    {
        Interlocked.Exchange(ref _started, 1);
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
                await EndSessionAsync(session).ConfigureAwait(false);
                if (_noRetry || _lifetime.IsCancellationRequested || Direction != ConnectionDirection.Outbound || _network.Options.MaxConnectRetries <= 0)
                    break;
                SetState(PeerChannelState.Reconnecting);
                var next = await ReconnectAsync().ConfigureAwait(false);
                if (next is null)
                {
                    gaveUp = !_lifetime.IsCancellationRequested && !_noRetry;
                    break;
                }
                session = next;
                Attach(session);
                SetState(PeerChannelState.Open);
            }
        }
        catch (Exception ex)
        {
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
        int maxFrame = _network.Options.MaxFrameLength;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(ct).ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    while (PacketCodec.TryReadFrame(ref buffer, out var hello, out var packet, maxFrame))
                    {
                        if (hello is not null) throw new PacketFormatException(PacketFormatError.Malformed, "a second hello on an open channel");
                        Dispatch(packet!);
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                }
                if (result.IsCompleted) return; // the peer closed the stream
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
        var queue = _sendQueue.Reader;
        var ct = session.Stop.Token;
        var batch = new ArrayBufferWriter<byte>(16 * 1024);
        using var writer = new PacketWriter(_network.Options.MaxFrameLength);
        try
        {
            while (await queue.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                int count = 0;
                while (batch.WrittenCount < MaxWriteBatch && queue.TryRead(out var packet))
                {
                    try
                    {
                        writer.Write(batch, packet);
                        count++;
                    }
                    catch (PacketFormatException ex)
                    {
                        // Checked in SendAsync already; a packet mutated after queueing is dropped, not the connection.
                        PeersLog.PacketNotSent(_logger, packet.Type, Identifier, ex.Message);
                    }
                }
                if (count == 0) continue;
                await session.Stream.WriteAsync(batch.WrittenMemory, ct).ConfigureAwait(false);
                Interlocked.Add(ref _sent, count);
                _network.Metrics.PacketsSent(count);
                // Don't let one huge batch pin its buffer for the channel's life.
                if (batch.Capacity > 4 * MaxWriteBatch) batch = new ArrayBufferWriter<byte>(16 * 1024);
                else batch.ResetWrittenCount();
            }
            // The queue was completed (graceful close): half-close so the peer reads to the end.
            await session.Stream.CloseWriteAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
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
            _network.Metrics.PacketDropped(packet.Type);
            // A peer that keeps sending what it may not must not flood the log: per type, the 1st, 10th, 100th… drop is logged.
            int slot = Math.Clamp((int)packet.Type, 0, _droppedByType.Length - 1);
            long ofType = Interlocked.Increment(ref _droppedByType[slot]);
            if (IsPowerOfTen(ofType)) PeersLog.PacketDropped(_logger, packet.Type, Identifier, TrustLevel, required, ofType);
            return;
        }
        _network.Metrics.PacketReceived(packet.Type);
        if (packet is DisconnectPacket disconnect)
        {
            _noRetry = true; // a clean disconnect is never retried, whatever the handler does
            _closeReason = $"peer disconnected: {disconnect.Reason}";
        }
        try
        {
            _network.PacketHandleProtocol.Dispatch(this, packet);
        }
        catch (Exception ex)
        {
            PeersLog.HandlerFailed(_logger, packet.Type, Identifier, ex.Message);
        }
        var handler = DataReceived;
        if (handler is not null || _network.HasDataReceivedHandlers)
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
            _network.RaiseDataReceived(args);
        }
        CompleteWaiters(packet);
    }

    private void CompleteWaiters(NetworkPacket packet)
    {
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
        var options = _network.Options;
        var ct = _lifetime.Token;
        for (int attempt = 1; attempt <= options.MaxConnectRetries; attempt++)
        {
            var delay = TimeSpan.FromTicks(Math.Min(options.RetryMaxDelay.Ticks, options.RetryBaseDelay.Ticks << Math.Min(attempt - 1, 20)));
            PeersLog.Reconnecting(_logger, Identifier, attempt, options.MaxConnectRetries, delay.TotalMilliseconds);
            try
            {
                await Task.Delay(delay, ct).ConfigureAwait(false);
                return await _network.ReopenSessionAsync(this, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return null;
            }
            catch (Exception ex)
            {
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
    }

    /// <summary>Stops the channel for good: no retry; the run loop ends, cleans up and completes.</summary>
    internal async Task ShutdownAsync(string reason)
    {
        _noRetry = true;
        _closeReason ??= reason;
        _sendQueue.Writer.TryComplete();
        await _lifetime.CancelAsync().ConfigureAwait(false);
        if (_session is { } session) await session.Stop.CancelAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _started, 1) == 0) Finish(gaveUp: false); // never started: nothing else will
        await _closed.Task.ConfigureAwait(false);
    }

    private void Finish(bool gaveUp)
    {
        _sendQueue.Writer.TryComplete();
        SetState(PeerChannelState.Closed);
        lock (_sync)
        {
            foreach (var (_, tcs) in _waiters) tcs.TrySetException(new ObjectDisposedException($"the channel with {Identifier} is closed"));
            _waiters.Clear();
        }
        PeersLog.ChannelClosed(_logger, Identifier, _closeReason ?? (gaveUp ? "gave up reconnecting" : "connection ended"));
        _network.OnChannelClosed(this, gaveUp);
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
