using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Peers.Packets;
using P2PNet.Swarm;

namespace P2PNet.Peers;

/// <summary>
/// The managed channel with one peer, carried on a yamux stream of protocol <see cref="ProtocolId"/>. It
/// sends packets through a bounded queue (a slow peer makes <see cref="SendAsync"/> wait), receives
/// length-prefixed frames, enforces the trust level on every packet before any handler or event, invokes
/// the network's <see cref="PacketHandleProtocol"/> delegates and raises <see cref="DataReceived"/>. An
/// outbound channel whose connection drops without a DisconnectPacket redials with exponential backoff.
/// </summary>
public sealed partial class PeerChannel : IAsyncDisposable
{
    /// <summary>The stream protocol id of the channel.</summary>
    public const string ProtocolId = PacketCodec.ChannelProtocolId;

    /// <summary>Most packets kept for <see cref="ReceiveAsync"/> while the channel is being activated.</summary>
    public const int MaxUnclaimedPackets = 64;

    // Packets are batched into one stream write up to this many bytes.
    private const int MaxWriteBatch = 256 * 1024;

    private readonly PeerChannelServices _services;
    private readonly GenericPeer _peer;
    private readonly ILogger _logger;
    private readonly SendQueue<Outgoing> _sendQueue;
    // Where the writer loop waits while the queue is empty; every write to the queue wakes it (WriterPark).
    private readonly WriterPark _park = new();
    // The packets received when the writer last wrote (writer writes, senders read): a send after more came in is a reply.
    private long _receivedAtLastWrite;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _sync = new();
    private readonly List<(Func<NetworkPacket, bool> Filter, TaskCompletionSource<NetworkPacket> Done)> _waiters = [];
    // Packets no ReceiveAsync claimed while the channel is being activated (trust protocol running), so that a
    // handshake asking for the peer's reply after it arrived still gets it. Null once active (or closed).
    private Queue<NetworkPacket>? _unclaimed = new();
    private int _waiterCount; // _waiters.Count, written under _sync, read without it by the read loop
    private Session? _session;
    private Task _run = Task.CompletedTask;
    private int _state = (int)PeerChannelState.Opening;
    private int _trust;
    private volatile bool _noRetry;
    private string? _closeReason;
    private long _received;
    private long _sent;
    private long _dropped;
    private readonly long[] _droppedByType = new long[8]; // by PacketType value (1–5 today); 0 and the last slot catch the rest

    internal PeerChannel(PeerChannelServices services, GenericPeer peer, ConnectionDirection direction, PeerTrustLevel trust, ILogger logger)
    {
        _services = services;
        _peer = peer;
        Direction = direction;
        _trust = (int)trust;
        _logger = logger;
        _sendQueue = new SendQueue<Outgoing>(services.Options.SendQueueCapacity);
    }

    /// <summary>The peer at the other end.</summary>
    public IPeer Peer => _peer;

    /// <summary>The peer's identifier (PeerId).</summary>
    public PeerId Identifier => _peer.Identifier;

    /// <summary>Whether we dialed the peer (outbound channels redial after a drop) or it dialed us.</summary>
    public ConnectionDirection Direction { get; }

    /// <summary>The channel's state.</summary>
    public PeerChannelState State => (PeerChannelState)Volatile.Read(ref _state);

    /// <summary>What the peer may send; raised or lowered by a trust handshake.</summary>
    public PeerTrustLevel TrustLevel => (PeerTrustLevel)Volatile.Read(ref _trust);

    /// <summary>The live libp2p connection, or null while reconnecting or closed.</summary>
    public Connection? Connection => _session?.Connection;

    /// <summary>Packets received (whether accepted or dropped).</summary>
    public long PacketsReceived => Interlocked.Read(ref _received);

    /// <summary>Packets written to the stream.</summary>
    public long PacketsSent => Interlocked.Read(ref _sent);

    /// <summary>Packets dropped because the trust level did not allow them.</summary>
    public long PacketsDropped => Interlocked.Read(ref _dropped);

    /// <summary>Why the channel closed, once it has.</summary>
    public string? CloseReason => _closeReason;

    /// <summary>Completes when the channel is closed for good.</summary>
    public Task Completion => _closed.Task;

    /// <summary>Raised for every packet that passes the trust policy, after the PacketHandleProtocol delegate.</summary>
    public event EventHandler<PacketReceivedEventArgs>? DataReceived;

    /// <summary>Raised on every state change.</summary>
    public event EventHandler<PeerChannelState>? StateChanged;

    /// <summary>
    /// Raised with the packets the peer never acknowledged, when the channel closes for good with them outstanding or
    /// the peer lost the session (docs/peers.md, "What a channel guarantees"). Also raised on the network
    /// (<see cref="PeerNetwork.PacketsLost"/>).
    /// </summary>
    public event EventHandler<PacketsLostEventArgs>? PacketsLost;

    /// <summary>Raises the trust level (for example during a trust handshake).</summary>
    public void ElevateTrust(PeerTrustLevel level = PeerTrustLevel.Enhanced) => ChangeTrust((int)level, Math.Max);

    /// <summary>Lowers the trust level.</summary>
    public void DemoteTrust(PeerTrustLevel level = PeerTrustLevel.Default) => ChangeTrust((int)level, Math.Min);

    // Read and write as one step: a read, then an exchange, lets a concurrent change slip in between and be undone.
    private void ChangeTrust(int level, Func<int, int, int> combine)
    {
        int old, updated;
        do
        {
            old = Volatile.Read(ref _trust);
            updated = combine(level, old);
        }
        while (Interlocked.CompareExchange(ref _trust, updated, old) != old);
        if (old != updated) PeersLog.TrustChanged(_logger, Identifier, (PeerTrustLevel)old, (PeerTrustLevel)updated);
    }

    /// <summary>
    /// Queues a packet for sending. Waits while the queue is full (the peer reads slowly); throws
    /// <see cref="ObjectDisposedException"/> once the channel is closed.
    /// </summary>
    /// <exception cref="PacketFormatException">The packet breaks a limit of the wire format (see docs/protocol.md).</exception>
    public ValueTask SendAsync(NetworkPacket packet, CancellationToken cancellationToken = default)
    {
        // With room in the queue (the common case) no async state machine: a few percent of the 64 B packet rate.
        // Errors still come through the returned task, as from the async path.
        if (packet is not null && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                PacketCodec.Validate(packet); // the caller learns of an over-limit packet, not the connection
            }
            catch (PacketFormatException ex)
            {
                return ValueTask.FromException(ex);
            }
            if (TryQueue(new Outgoing(packet, null), mayReply: true)) return default;
        }
        return SendWaitingAsync(packet!, cancellationToken);
    }

    private async ValueTask SendWaitingAsync(NetworkPacket packet, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(packet);
        PacketCodec.Validate(packet);
        try
        {
            // Reached when the queue was full (or to throw for a bad argument): the writer is busy, no reply to run it for.
            await QueueAsync(new Outgoing(packet, null), mayReply: false, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new ObjectDisposedException($"the channel with {Identifier} is closed", ex);
        }
    }

    /// <summary>
    /// Queues a packet (as <see cref="SendAsync"/>, waiting while the queue is full) and completes once the peer has
    /// acknowledged it: it was handed to the peer's handlers, exactly once. Throws <see cref="PeerNetworkException"/>
    /// with <see cref="PeerNetworkError.NotAcknowledged"/> when it never will be (the channel closed, or the peer lost
    /// the session; the packet is also reported by <see cref="PacketsLost"/>). With a peer of an earlier version (no
    /// acknowledgements) it completes once the packet is written to the connection. Cancelling stops the wait, not the send.
    /// </summary>
    /// <exception cref="PacketFormatException">The packet breaks a limit of the wire format (see docs/protocol.md).</exception>
    public async Task SendAndWaitAsync(NetworkPacket packet, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(packet);
        PacketCodec.Validate(packet);
        var acked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await QueueAsync(new Outgoing(packet, acked), mayReply: true, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new ObjectDisposedException($"the channel with {Identifier} is closed", ex);
        }
        await acked.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues a packet if the queue has room, without waiting (a broadcast to a resuming channel).</summary>
    internal bool TrySend(NetworkPacket packet)
    {
        PacketCodec.Validate(packet);
        return TryQueue(new Outgoing(packet, null), mayReply: true);
    }

    // Every write to the send queue goes through these three: the writer waits in the park, not in the queue, so each
    // must wake it. A send that may be a reply wakes it on this thread when it is one (IsReply).

    private bool TryQueue(Outgoing item, bool mayReply)
    {
        if (!_sendQueue.TryWrite(item)) return false;
        WakeParkedWriter(mayReply);
        return true;
    }

    private async ValueTask QueueAsync(Outgoing item, bool mayReply, CancellationToken cancellationToken)
    {
        await _sendQueue.WriteAsync(item, cancellationToken).ConfigureAwait(false);
        WakeParkedWriter(mayReply);
    }

    // IsReply reads counters the read loop and the writer write: only worth it when the writer waits.
    private void WakeParkedWriter(bool mayReply)
    {
        if (_park.IsWaiting) _park.Wake(here: mayReply && IsReply());
    }

    /// <summary>No more sends: the writer drains the queue and ends.</summary>
    private void CompleteQueue()
    {
        _sendQueue.Complete();
        _park.Wake(here: false);
    }

    /// <summary>
    /// A send now answers packets that came in since the writer last wrote (and inline writes are on): the writer may run
    /// on the sender's thread, as the muxer's inline write does for such a batch.
    /// </summary>
    private bool IsReply() => WritesInline && Interlocked.Read(ref _received) != Volatile.Read(ref _receivedAtLastWrite);

    /// <summary>
    /// Waits for the next packet (that passes the trust policy and <paramref name="filter"/>); it is still
    /// handed to the delegates and events as usual. Useful in trust handshakes: until the channel joins
    /// ActivePeerChannels (while the trust protocol runs), packets that arrived before the call and were not
    /// claimed by another ReceiveAsync are returned first (the latest <see cref="MaxUnclaimedPackets"/>), so a
    /// handshake never misses a reply that came early.
    /// </summary>
    public Task<NetworkPacket> ReceiveAsync(Func<NetworkPacket, bool>? filter = null, CancellationToken cancellationToken = default)
    {
        filter ??= static _ => true;
        var tcs = new TaskCompletionSource<NetworkPacket>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_sync)
        {
            // A reply that arrived before the peer closed the channel is still returned.
            if (TakeUnclaimed(filter) is { } early) return Task.FromResult(early);
            if (State == PeerChannelState.Closed) return Task.FromException<NetworkPacket>(new ObjectDisposedException($"the channel with {Identifier} is closed"));
            _waiters.Add((filter, tcs));
            Volatile.Write(ref _waiterCount, _waiters.Count);
        }
        return WaitAsync(tcs, cancellationToken);
    }

    // Cancelling ends the waiter itself (not only the caller's wait), so that it claims no packet nobody awaits any more.
    private static async Task<NetworkPacket> WaitAsync(TaskCompletionSource<NetworkPacket> waiter, CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.Register(static (state, ct) => ((TaskCompletionSource<NetworkPacket>)state!).TrySetCanceled(ct), waiter);
        return await waiter.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// Opens a channel with this channel's peer again after it closed, by dialing the peer's known addresses;
    /// returns the live channel (this one while it is open or reconnecting).
    /// </summary>
    public Task<PeerChannel> OpenPeerChannelAsync(CancellationToken cancellationToken = default) =>
        _services.OpenAsync(_peer, cancellationToken);

    /// <summary>
    /// Closes the channel gracefully: sends a DisconnectPacket (queued packets first), closes the stream and
    /// the connection. No retry follows.
    /// </summary>
    public async Task ClosePeerChannelAsync(string? reason = null, CancellationToken cancellationToken = default)
    {
        _noRetry = true;
        var state = State;
        if (state is PeerChannelState.Closed) return;
        _closeReason ??= reason ?? "closed locally"; // the peer may end the session before ShutdownAsync runs
        if (state is PeerChannelState.Open && TrySetState(PeerChannelState.Open, PeerChannelState.Closing))
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_services.Options.CloseTimeout);
            try
            {
                await QueueAsync(new Outgoing(new DisconnectPacket(reason ?? "closed"), null), mayReply: false, timeout.Token).ConfigureAwait(false);
                CompleteQueue();
                if (_session is { } session)
                {
                    await session.WriteLoop.WaitAsync(timeout.Token).ConfigureAwait(false);
                    // Let the peer read the DisconnectPacket and close its side first: closing the connection
                    // while it still has unread bytes can reset it (TCP RST) and lose the packet.
                    await session.ReadEnded.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException or IOException or ObjectDisposedException)
            {
                // Best effort: the connection closes anyway.
            }
        }
        await ShutdownAsync(reason ?? "closed locally").ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(ClosePeerChannelAsync("disposed"));

    /// <inheritdoc />
    public override string ToString() => $"{Identifier} {Direction} {State}";
}
