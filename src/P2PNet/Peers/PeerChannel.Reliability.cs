using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Peers.Packets;
using P2PNet.Swarm;

namespace P2PNet.Peers;

// Sessions that lose nothing: sequence numbers, cumulative acknowledgements, the bounded unacknowledged buffer, replay
// on resume, and the report of what was never acknowledged. See docs/protocol.md ("Sessions and acknowledgements").
public sealed partial class PeerChannel
{
    /// <summary>A queued packet, and who waits for its acknowledgement; a null packet only wakes the writer.</summary>
    internal readonly record struct Outgoing(NetworkPacket? Packet, TaskCompletionSource? Acked);

    /// <summary>
    /// An inbound stream of the dialer resuming this channel's session, or starting a new one (it restarted and lost
    /// ours: <see cref="NewSession"/>), waiting for the run loop to adopt it.
    /// </summary>
    private sealed class ResumeOffer(Session session, bool newSession)
    {
        public Session Session { get; } = session;
        public bool NewSession { get; } = newSession;
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    // The session: null with a peer that does not know sessions (no acknowledgements, no resumption).
    private string? _sessionId;
    // The last sequence number received and handed to the handlers (read loop writes, writer reads).
    private long _lastReceived;
    // The read loop's thread while it hands packet _lastReceived + 1 to the handlers (0 otherwise): what is written from
    // that thread meanwhile was sent by a handler of that packet.
    private int _handlingThread;
    private long _loneAcks;
    private long _windowWaits;
    // The packets written and not acknowledged, with their sequence numbers.
    private readonly UnackedPackets _unacked = new();
    // The writer waits here while the window is full; the read loop releases it for acknowledgements in either direction.
    private readonly SemaphoreSlim _writerWake = new(0);
    private int _writerParked;
    private int _wakeQueued;
    private long _ackFlushTarget = long.MaxValue;
    // A lone acknowledgement waits up to AckDelay for a packet of ours to ride on (as TCP's delayed ACK): a request and
    // its response then carry each other's acknowledgements, and a one-way flow is acknowledged about once per
    // millisecond rather than once per read. It goes out at once when an eighth of the window in packets (below) or
    // AckAtOnceBytes are due, when our own window is full, or for a Disconnect. The read loop decides: it wakes
    // the writer only for an acknowledgement due now, and otherwise arms one timer per channel; the writer adds the
    // acknowledgement to whatever it writes next. (Waking the writer after every read, and a timer per wake, cost a
    // quarter of the 1 KiB packet rate and a tenth of the 64 B round trip.)
    private static readonly TimeSpan AckDelay = TimeSpan.FromMilliseconds(1);
    // At once after an eighth of our own window (we cannot know the peer's; peers set up alike keep theirs from filling
    // while an acknowledgement is on its way, which at half the window it did), at most 2048: with the default window a
    // 64 B one-way flow wakes both ends for an acknowledgement a quarter as often as at 512 against 4096.
    private const int MaxAckAtOncePackets = 2048;
    private const int AckAtOnceBytes = 1024 * 1024;
    private Timer? _ackTimer;       // read loop creates it; Finish disposes it
    private int _ackTimerArmed;     // 1 while the timer runs
    private long _bytesSinceAckWake; // read loop only: frame bytes received since it last woke the writer or armed the timer
    private TaskCompletionSource? _ackFlushed;
    // Inbound: the dialer's resumed stream, and the run loop's wait for one.
    private ResumeOffer? _offer;
    private TaskCompletionSource _offerArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ResumeOffer? _adopting;

    /// <summary>The session id agreed with the peer (null: the peer does not acknowledge, and the channel cannot resume).</summary>
    internal string? SessionId => _sessionId;

    /// <summary>Packets written to the peer and not yet acknowledged (replayed if the connection is lost).</summary>
    public int PacketsUnacknowledged => _unacked.Count;

    /// <summary>Entries in the send queue now (packets, and wake-ups of the writer), for tests.</summary>
    internal int PacketsQueued => _sendQueue.Count;

    /// <summary>Whether a reply may be written from the channel's writer when the muxer is idle (on by default; the bench compares).</summary>
    internal bool WritesInline { get; set; } = true;

    /// <summary>Sends that ran the writer on the sending thread (replies that found it waiting), for tests.</summary>
    internal long WriterWokenBySender => _park.WokenHere;

    /// <summary>Batches the writer wrote with an acknowledgement and no packet, for tests.</summary>
    internal long LoneAcksWritten => Volatile.Read(ref _loneAcks);

    /// <summary>How often the writer waited for the peer's acknowledgement with a full window, for the bench and tests.</summary>
    internal long WindowWaits => Volatile.Read(ref _windowWaits);

    /// <summary>Inline writes on the connection of the current session (0 without one), for tests.</summary>
    internal long MuxerInlineWrites => Volatile.Read(ref _session)?.Connection.MuxerInlineWrites ?? 0;

    /// <summary>The reason an inbound channel that adopted its restarted dialer's new session reports its unacknowledged packets with.</summary>
    internal const string PeerRestartedReason = "the peer restarted and lost the session";

    /// <summary>A fresh session id: 128 random bits as 32 hex digits.</summary>
    internal static string NewSessionId() => Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// The listener's answer to <paramref name="theirs"/> in a new channel: the dialer's session id for a new session, a
    /// fresh one when the dialer asked to resume a session we do not hold, none for a peer without sessions (or when
    /// <paramref name="ours"/> offers none: sessions are off here).
    /// </summary>
    internal static ChannelHello AnswerHello(ChannelHello ours, ChannelHello theirs)
    {
        ours.Session = theirs.Session is { } id && ours.Session is not null ? (theirs.Received is null ? id : NewSessionId()) : null;
        ours.Received = null;
        return ours;
    }

    /// <summary>The dialer's hello when it redials: resume our session from the last packet received (none when sessions are off).</summary>
    internal ChannelHello ResumeHello(ChannelHello ours)
    {
        if (ours.Session is null) return ours;
        ours.Session = _sessionId ?? NewSessionId();
        ours.Received = _sessionId is null ? null : Volatile.Read(ref _lastReceived);
        return ours;
    }

    /// <summary>The first session: both hellos name the same session, or the peer knows none.</summary>
    private void BeginSession(Session session)
    {
        // The listener answered the dialer's session (its own id when it could not resume the one asked for); the dialer
        // keeps the session only when the listener named the same one.
        _sessionId = Direction == ConnectionDirection.Inbound
            ? (session.Theirs?.Session is not null ? session.Ours?.Session : null)
            : (session.Ours?.Session is { } id && session.Theirs?.Session == id ? id : null);
    }

    /// <summary>Whether the window is full now.</summary>
    private bool WindowFull() =>
        WindowFull(_unacked.Count, _unacked.Bytes, _services.Options.MaxUnacknowledgedPackets, _services.Options.MaxUnacknowledgedBytes);

    /// <summary>Whether <paramref name="count"/> packets of <paramref name="bytes"/> outstanding fill the window (at least one packet is always allowed).</summary>
    private static bool WindowFull(int count, long bytes, int maxPackets, long maxBytes) =>
        count >= maxPackets || (count > 0 && bytes >= maxBytes);

    /// <summary>Appends an acknowledgement when packets arrived since the last one; returns the sequence acknowledged, or -1.</summary>
    private long AppendAck(Session session, PooledBatch batch)
    {
        long received = Volatile.Read(ref _lastReceived);
        // Written on the thread that is handing the next packet to the handlers, this batch is their answer to it (a reply
        // woken inline): it acknowledges that packet too, so a request and its reply need no lone acknowledgement.
        if (Volatile.Read(ref _handlingThread) == Environment.CurrentManagedThreadId) received++;
        if (received <= Volatile.Read(ref session.AckWritten)) return -1;
        PacketCodec.WriteAck(batch, received);
        // Tells the read loop that this acknowledgement is on its way, so that it does not wake us for it again.
        Volatile.Write(ref session.AckTaken, received);
        return received;
    }

    private void AckWritten(Session session, long ack)
    {
        Volatile.Write(ref session.AckWritten, ack);
        if (ack >= Volatile.Read(ref _ackFlushTarget)) Volatile.Read(ref _ackFlushed)?.TrySetResult();
    }

    /// <summary>
    /// The read loop handed packets (<paramref name="bytes"/> of frames) to the handlers: wakes the writer when their
    /// acknowledgement is due now, else makes sure it goes out within <see cref="AckDelay"/> (a packet of ours may carry it first).
    /// </summary>
    private void AcknowledgeLater(Session session, long bytes)
    {
        // Store-load order: _lastReceived was written before this read; a stale AckTaken only costs a needless wake.
        long due = Volatile.Read(ref _lastReceived) - Volatile.Read(ref session.AckTaken);
        if (due <= 0) return; // the writer has taken it already (it answered with a packet of its own)
        _bytesSinceAckWake += bytes;
        int atOnce = Math.Clamp(_services.Options.MaxUnacknowledgedPackets / 8, 1, MaxAckAtOncePackets);
        if (due >= atOnce || _bytesSinceAckWake >= AckAtOnceBytes || WindowFull())
        {
            _bytesSinceAckWake = 0;
            RequestAck();
            return;
        }
        if (Interlocked.CompareExchange(ref _ackTimerArmed, 1, 0) != 0) return; // the armed timer will cover these
        _bytesSinceAckWake = 0;
        _ackTimer ??= new Timer(static state => ((PeerChannel)state!).OnAckTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _ackTimer.Change(AckDelay, Timeout.InfiniteTimeSpan);
    }

    private void OnAckTimer()
    {
        Volatile.Write(ref _ackTimerArmed, 0);
        RequestAck();
    }

    /// <summary>The peer acknowledged every packet up to <paramref name="ack"/>.</summary>
    private void OnAck(long ack)
    {
        List<TaskCompletionSource>? done = null;
        _unacked.Trim(ack, ref done);
        if (done is not null) foreach (var waiter in done) waiter.TrySetResult();
        WakeWriter(parkedOnly: true);
    }

    /// <summary>An acknowledgement is due now: the writer sends it (with its next batch, or alone).</summary>
    private void RequestAck() => WakeWriter(parkedOnly: false);

    private void WakeWriter(bool parkedOnly)
    {
        if (Interlocked.Exchange(ref _writerParked, 0) == 1)
        {
            _writerWake.Release();
            return;
        }
        if (parkedOnly || Interlocked.Exchange(ref _wakeQueued, 1) != 0) return;
        // A full queue keeps the writer busy anyway: it acknowledges with its next batch.
        if (!TryQueue(default, mayReply: false)) Volatile.Write(ref _wakeQueued, 0);
    }

    /// <summary>The window is full: wait for an acknowledgement from the peer, or for one of ours to become due.</summary>
    private async Task WaitForWindowAsync(Session session, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _writerParked, 1);
        if (WindowFull() && Volatile.Read(ref _lastReceived) <= Volatile.Read(ref session.AckWritten))
        {
            Volatile.Write(ref _windowWaits, _windowWaits + 1); // only the writer writes it
            _services.Metrics.WindowWait();
            await _writerWake.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        Volatile.Write(ref _writerParked, 0);
    }

    /// <summary>Before handling the peer's Disconnect: make sure our acknowledgement of it is written (at most CloseTimeout).</summary>
    private async Task FlushAckAsync(Session session)
    {
        long target = Volatile.Read(ref _lastReceived);
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _ackFlushed, flushed);
        Volatile.Write(ref _ackFlushTarget, target);
        if (Volatile.Read(ref session.AckWritten) >= target) return;
        RequestAck();
        try
        {
            await flushed.Task.WaitAsync(_services.Options.CloseTimeout, session.Stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // Best effort: the peer then reports what it sent last as not acknowledged.
        }
    }

    /// <summary>On a resumed session: write every packet the peer has not received again, in order, before anything new.</summary>
    private async Task ReplayAsync(Session session, PooledBatch batch, PacketWriter writer, CancellationToken cancellationToken)
    {
        var replay = _unacked.Snapshot();
        if (replay.Length == 0) return;
        foreach (var entry in replay)
        {
            writer.Write(batch, entry.Packet);
            if (batch.WrittenCount >= MaxWriteBatch)
            {
                await session.Stream.WriteAsync(batch.WrittenMemory, cancellationToken).ConfigureAwait(false);
                batch.Reset();
            }
        }
        if (batch.WrittenCount > 0) await session.Stream.WriteAsync(batch.WrittenMemory, cancellationToken).ConfigureAwait(false);
        batch.Release();
    }

    /// <summary>
    /// The peer resumed the session having received up to <paramref name="peerReceived"/>: those packets are acknowledged,
    /// the rest is replayed. Throws <see cref="PacketFormatException"/> for a count the session cannot have.
    /// </summary>
    private int ApplyPeerReceived(long peerReceived)
    {
        if (peerReceived < 0) throw new PacketFormatException(PacketFormatError.Malformed, "negative received count");
        OnAck(peerReceived);
        var (oldest, count) = _unacked.Oldest();
        if (oldest is long first && first != peerReceived + 1)
            throw new PacketFormatException(PacketFormatError.Malformed, $"the peer resumes after packet {peerReceived}, which it had acknowledged beyond");
        return count;
    }

    /// <summary>A new session replaces one the peer no longer holds: what it had not acknowledged is lost.</summary>
    private void StartOver(string? sessionId, string reason)
    {
        var lost = TakeOutstanding(includeQueued: false);
        bool had = _sessionId is not null;
        _unacked.RestartSequence();
        Volatile.Write(ref _lastReceived, 0);
        _sessionId = sessionId;
        if (had)
        {
            ResumeLog.SessionLost(_logger, Identifier, lost.Count, reason);
            ReportLost(lost, reason);
        }
    }

    /// <summary>Outbound: after a redial, resume the session, or start a new one when the peer did not hold ours.</summary>
    private void ResumeOutbound(Session next)
    {
        var theirs = next.Theirs;
        if (_sessionId is not null && theirs?.Session == _sessionId && theirs.Received is long peerReceived)
        {
            int replay;
            try
            {
                replay = ApplyPeerReceived(peerReceived);
            }
            catch (PacketFormatException ex)
            {
                _noRetry = true;
                _closeReason = $"protocol violation: {ex.Message}";
                throw;
            }
            ResumeLog.Resumed(_logger, Identifier, peerReceived, replay);
            return;
        }
        StartOver(next.Ours?.Session is not null ? theirs?.Session : null, "the peer lost the session (it restarted)");
    }

    // Inbound: set once the run loop decided not to wait for a resumption (the channel is ending).
    private bool _ending;

    /// <summary>
    /// Inbound, the session ended: wait for the dialer to resume when the connection failed (not when either side closed
    /// it on purpose) or the dialer is resuming already, and the peer knows sessions. Otherwise no resumption is accepted any more.
    /// </summary>
    private bool ShouldAwaitResume(Session session)
    {
        lock (_sync)
        {
            bool wait = _sessionId is not null && (session.Failed || _offer is not null) && _services.Options.ResumeWindow > TimeSpan.Zero;
            if (!wait) _ending = true;
            return wait;
        }
    }

    /// <summary>True once the channel will not resume any more (it is closing or closed).</summary>
    internal bool IsEnding
    {
        get
        {
            lock (_sync) return _ending || _noRetry || State is PeerChannelState.Closing or PeerChannelState.Closed;
        }
    }

    /// <summary>
    /// Inbound: the dialer redialed and asked to resume this channel's session on <paramref name="next"/> (or, while the
    /// channel waits to resume, started a new session there: it restarted, and the channel adopts it). Ends the current
    /// session if there still is one (the dialer's redial shows the connection is dead even if we have not seen it),
    /// then the run loop answers with our hello and adopts the stream. True once it has; false when the channel cannot
    /// resume (closed, another resume under way).
    /// </summary>
    internal async Task<bool> ResumeAsync(Session next, CancellationToken cancellationToken)
    {
        Session? current;
        ResumeOffer offer;
        lock (_sync)
        {
            // Not a resumption of our session: the dialer restarted, gave up and dialed anew, or asks for a session it
            // never learned we replaced (our answer to its last redial was lost with that connection).
            offer = new ResumeOffer(next, next.Theirs is not { Received: not null } theirs || theirs.Session != _sessionId);
            if (_sessionId is null || _noRetry || _ending || _offer is not null || State is PeerChannelState.Closed or PeerChannelState.Closing or PeerChannelState.Opening)
                return false;
            _offer = offer;
            current = _session;
            _offerArrived.TrySetResult();
        }
        if (current is not null) await current.Stop.CancelAsync().ConfigureAwait(false);
        try
        {
            return await offer.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The connection is going (a relay limit can end a circuit right after the redial). The run loop may have
            // adopted the stream already: the caller must not complete its reader under the channel, so wait for the
            // verdict, which comes promptly either way (the hello write fails on a dead stream, or the session attaches).
            return await offer.Done.Task.WaitAsync(_services.Options.HelloTimeout, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Inbound, the connection lost: wait (at most ResumeWindow) for the dialer to resume; null when it did not.</summary>
    private async Task<Session?> AwaitResumeAsync()
    {
        var window = _services.Options.ResumeWindow;
        SetState(PeerChannelState.Resuming);
        ResumeLog.Resuming(_logger, Identifier, window.TotalSeconds);
        var deadline = DateTime.UtcNow + window;
        while (true)
        {
            ResumeOffer? offer;
            Task arrived;
            lock (_sync)
            {
                offer = _offer;
                if (offer is null && _offerArrived.Task.IsCompleted) _offerArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
                arrived = _offerArrived.Task;
            }
            if (offer is null)
            {
                var left = deadline - DateTime.UtcNow;
                try
                {
                    if (left <= TimeSpan.Zero) throw new TimeoutException();
                    await arrived.WaitAsync(left, _lifetime.Token).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    _closeReason ??= "resume window expired";
                    ResumeLog.WindowExpired(_logger, Identifier, window.TotalSeconds);
                    return null;
                }
                catch (OperationCanceledException)
                {
                    return null;
                }
                continue;
            }
            var session = offer.Session;
            try
            {
                var ours = session.Ours!;
                if (offer.NewSession)
                {
                    // Our hello answers the dialer's new session, or names a fresh one (AnswerHello); what the old
                    // session never had acknowledged is lost.
                    await WriteHelloAsync(session.Stream, ours, _lifetime.Token).ConfigureAwait(false);
                    StartOver(ours.Session, PeerRestartedReason);
                    lock (_sync) _offer = null;
                    _adopting = offer;
                    return session;
                }
                ours.Session = _sessionId;
                ours.Received = Volatile.Read(ref _lastReceived);
                await WriteHelloAsync(session.Stream, ours, _lifetime.Token).ConfigureAwait(false);
                int replay = ApplyPeerReceived(session.Theirs?.Received ?? 0);
                ResumeLog.Resumed(_logger, Identifier, session.Theirs?.Received ?? 0, replay);
                lock (_sync) _offer = null;
                _adopting = offer;
                return session;
            }
            catch (PacketFormatException ex)
            {
                lock (_sync) _offer = null;
                offer.Done.TrySetResult(false);
                _noRetry = true;
                _closeReason = $"protocol violation: {ex.Message}";
                PeersLog.MalformedFrame(_logger, Identifier, ex.Error, ex.Message);
                return null;
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                // That stream died too: keep waiting for the next one.
                ResumeLog.OfferFailed(_logger, Identifier, ex.Message);
                lock (_sync) _offer = null;
                offer.Done.TrySetResult(false);
                if (_lifetime.IsCancellationRequested) return null;
            }
        }
    }

    /// <summary>The resumed session is attached: its stream handler may now wait for it.</summary>
    private void CompleteResumeOffer(Session session)
    {
        if (_adopting is { } offer && ReferenceEquals(offer.Session, session))
        {
            _adopting = null;
            offer.Done.TrySetResult(true);
        }
    }

    private void FailResumeOffer()
    {
        ResumeOffer? offer;
        lock (_sync) (offer, _offer) = (_offer, null);
        offer?.Done.TrySetResult(false);
        if (_adopting is { } adopting)
        {
            _adopting = null;
            adopting.Done.TrySetResult(false);
        }
    }

    /// <summary>Completes when the channel no longer uses <paramref name="stream"/> (an inbound stream handler waits for it).</summary>
    internal Task StreamReleased(MuxedStream stream) =>
        _session is { } session && ReferenceEquals(session.Stream, stream) ? session.Released.Task : Task.CompletedTask;

    /// <summary>True when the connection failed (reset, read or write error), false when it was closed on purpose by either side.</summary>
    private static bool IsFailure(Exception ex) =>
        ex is IOException && ex is not YamuxException { Error: YamuxError.SessionClosed or YamuxError.StreamReset or YamuxError.StreamClosed };

    /// <summary>Takes every packet not acknowledged (and, when closing for good, every packet still queued), oldest first.</summary>
    private List<(NetworkPacket Packet, TaskCompletionSource? Acked)> TakeOutstanding(bool includeQueued)
    {
        var lost = new List<(NetworkPacket, TaskCompletionSource?)>();
        foreach (var entry in _unacked.TakeAll()) lost.Add((entry.Packet, entry.Acked));
        if (includeQueued)
        {
            while (_sendQueue.TryRead(out var item))
                if (item.Packet is { } packet) lost.Add((packet, item.Acked));
        }
        return lost;
    }

    /// <summary>Tells the sender: <see cref="PacketsLost"/> on the channel and the network, and each SendAndWaitAsync fails.</summary>
    private void ReportLost(List<(NetworkPacket Packet, TaskCompletionSource? Acked)> lost, string reason)
    {
        if (lost.Count == 0) return;
        var packets = new List<NetworkPacket>(lost.Count);
        foreach (var (packet, acked) in lost)
        {
            acked?.TrySetException(new PeerNetworkException(PeerNetworkError.NotAcknowledged,
                $"a {packet.Type} packet to {Identifier} was not acknowledged: {reason}"));
            // Our own Disconnect is the end of the channel, not the application's data.
            if (packet is not DisconnectPacket) packets.Add(packet);
        }
        if (packets.Count == 0) return;
        ResumeLog.PacketsLost(_logger, packets.Count, Identifier, reason);
        _services.Metrics.PacketsLost(packets.Count);
        var args = new PacketsLostEventArgs(this, packets, reason);
        try
        {
            PacketsLost?.Invoke(this, args);
        }
        catch (Exception ex)
        {
            PeersLog.HandlerFailed(_logger, null, Identifier, ex.Message);
        }
        _services.PacketsLost(args);
    }
}
