using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;
using P2PNet.Peers.Packets;
using P2PNet.Protocols.Identify;
using P2PNet.Protocols.Ping;
using P2PNet.Swarm;

namespace P2PNet.Peers;

/// <summary>
/// A peer-to-peer network node: listens for peers, connects to them, and serves each through a
/// <see cref="PeerChannel"/>. New connections pass the blocked and duplicate checks, are wrapped in a
/// <see cref="GenericPeer"/>, placed in the <see cref="InboundConnectingPeersQueue"/> and/or passed to
/// <see cref="IncomingPeerConnectionAttempt"/> by the <see cref="TrustPolicy"/>, added to
/// <see cref="KnownPeers"/>; then their channel opens, joins <see cref="ActivePeerChannels"/> and raises
/// <see cref="PeerAdded"/>. Everything is per instance: several networks run side by side in one process.
/// Underneath is a libp2p host (TCP, Noise, yamux, ping, identify).
/// </summary>
public sealed partial class PeerNetwork : IAsyncDisposable
{
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly bool _ownsIdentity;
    private readonly KnownPeerStore _known;
    private readonly ConcurrentDictionary<PeerId, PeerChannel> _active = new();
    // Channels being opened, by peer; the value completes when that attempt ends (either way).
    private readonly ConcurrentDictionary<PeerId, ChannelOpening> _opening = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly PeerChannelServices _channelServices;
    // Background work the network starts (closing a blocked connection after its grace), awaited on stop.
    private readonly ConcurrentDictionary<Task, byte> _background = new();
    // How long an inbound connection blocked by identifier stays open so that its channel stream can be told why.
    private static readonly TimeSpan BlockedChannelGrace = TimeSpan.FromSeconds(2);
    private int _started;
    private int _disposed;

    /// <summary>Creates a network node; call <see cref="StartAsync"/> to listen.</summary>
    public PeerNetwork(PeerNetworkOptions? options = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        Options = options ?? new PeerNetworkOptions();
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<PeerNetwork>();
        _ownsIdentity = Options.Identity is null;
        Identity = Options.Identity ?? Identity.Generate();
        Host = new SwarmHost(Identity, WithRoomForKnownPeers(Options), _loggerFactory, meterFactory);
        // KnownPeers is the seed's view of the host's one peer store.
        _known = new KnownPeerStore(Host.PeerStore, Options.MaxKnownPeers, IsInUse);
        Ping = new PingService(Host);
        Identify = new IdentifyService(Host, loggerFactory: _loggerFactory);
        Metrics = new PeerNetworkMetrics(meterFactory, () => _active.Count, () => _known.Count);
        TrustPolicy = new IncomingPeerTrustPolicy();
        TrustPolicy.BlockListChanged += (_, _) => _ = EnforceBlockListsAsync();
        PacketHandleProtocol = new PacketHandleProtocol(HandleIdentity, HandleDisconnect, HandlePeerGroup, HandleDataTransmission, HandlePureMessage);
        _channelServices = new PeerChannelServices(Options, Metrics, PacketHandleProtocol, () => DataReceived is not null,
            args => Raise(DataReceived, args, nameof(DataReceived)), OnChannelClosed, ReopenSessionAsync, OpenPeerChannelAsync,
            args => Raise(PacketsLost, args, nameof(PacketsLost)), args => Raise(ChannelReopening, args, nameof(ChannelReopening)),
            args => Raise(ChannelReopened, args, nameof(ChannelReopened)));
        InboundConnectingPeersQueue = new InboundConnectingPeersQueue(Options.InboundQueueCapacity);
        // On limited (relayed) connections only when the application allows it (see AllowLimitedConnections).
        Host.SetStreamHandler(PeerChannel.ProtocolId, ServeInboundChannelAsync, Options.AllowLimitedConnections);
        // The block lists act at the host: blocked IPs never cost a handshake, blocked identifiers are told why.
        var blockList = new BlockListGater(TrustPolicy, (peer, address, reason) =>
        {
            Metrics.PeerRefused("blocked");
            if (peer is not null) PeersLog.PeerRefused(_logger, peer, address, reason); // blocked IPs: the host logs them, rate-limited
        });
        Host.Gater = Host.Gater is { } gater ? new CompositeConnectionGater(gater, blockList) : blockList;
        Host.ConnectionOpened += OnConnectionOpened;
        Host.ConnectionOpened += OnDirectConnectionOpened;
    }

    /// <summary>The settings.</summary>
    public PeerNetworkOptions Options { get; }

    /// <summary>The meter of the peer network (channels, known peers, packets, refused peers), for OpenTelemetry's <c>AddMeter</c>.</summary>
    public const string MeterName = "P2PNet.Peers";

    /// <summary>This node's identity.</summary>
    public Identity Identity { get; }

    /// <summary>This node's identifier (PeerId).</summary>
    public PeerId Identifier => Identity.PeerId;

    /// <summary>The libp2p host underneath (connections, stream protocols).</summary>
    public SwarmHost Host { get; }

    /// <summary>Ping over the host.</summary>
    public PingService Ping { get; }

    /// <summary>Identify over the host.</summary>
    public IdentifyService Identify { get; }

    /// <summary>What incoming peers may do.</summary>
    public IncomingPeerTrustPolicy TrustPolicy { get; }

    /// <summary>The packet handlers channels invoke.</summary>
    public PacketHandleProtocol PacketHandleProtocol { get; }

    /// <summary>Incoming peers waiting for the application's decision (queue-based placement).</summary>
    public InboundConnectingPeersQueue InboundConnectingPeersQueue { get; }

    /// <summary>A snapshot of the peers this node knows (connected or heard of), by identifier.</summary>
    public IReadOnlyCollection<IPeer> KnownPeers => _known.Snapshot();

    /// <summary>A snapshot of the channels that are open (or reconnecting, or resuming).</summary>
    public IReadOnlyCollection<PeerChannel> ActivePeerChannels => [.. _active.Values];

    /// <summary>The addresses this node listens on (without <c>/p2p/</c>).</summary>
    public IReadOnlyList<Multiaddr> ListenAddresses => Host.ListenAddresses;

    /// <summary>True between <see cref="StartAsync"/> and disposal.</summary>
    public bool IsRunning => _started != 0 && _disposed == 0;

    internal PeerNetworkMetrics Metrics { get; }

    /// <summary>
    /// Raised when a channel has been created (state <see cref="PeerChannelState.Opening"/>), before it opens,
    /// runs the trust protocol or receives a packet: subscribe to its StateChanged and DataReceived here to
    /// see every state and packet.
    /// </summary>
    public event EventHandler<PeerChannel>? ChannelOpening;

    /// <summary>Raised when a channel joins ActivePeerChannels.</summary>
    public event EventHandler<PeerChannel>? PeerAdded;

    /// <summary>Raised when a channel leaves ActivePeerChannels (closed, refused by trust, or given up).</summary>
    public event EventHandler<PeerChannel>? PeerRemoved;

    /// <summary>
    /// The seed's OnIncomingPeerConnectionAttempt: raised for each incoming peer that passed the blocked and
    /// duplicate checks (event-based or both placements); a handler may reject it.
    /// </summary>
    public event EventHandler<IncomingPeerConnectionAttemptEventArgs>? IncomingPeerConnectionAttempt;

    /// <summary>Raised for every packet, on any channel, that passes the trust policy.</summary>
    public event EventHandler<PacketReceivedEventArgs>? DataReceived;

    /// <summary>Raised by the default pure-message handler.</summary>
    public event EventHandler<PureMessageReceivedEventArgs>? MessageReceived;

    /// <summary>Raised by the default data-transmission handler.</summary>
    public event EventHandler<DataTransmissionReceivedEventArgs>? DataTransmissionReceived;

    /// <summary>Raised when an outbound channel gave up reconnecting after <see cref="PeerNetworkOptions.MaxConnectRetries"/> tries.</summary>
    public event EventHandler<PeerChannel>? ChannelRetriesExhausted;

    /// <summary>
    /// Raised with packets a peer never acknowledged, on any channel: it closed for good with them outstanding, or the
    /// peer lost the session (see <see cref="PeerChannel.PacketsLost"/>).
    /// </summary>
    public event EventHandler<PacketsLostEventArgs>? PacketsLost;

    /// <summary>
    /// Raised when a channel's session is about to reopen on another connection, on either side: a relay limit ended
    /// the circuit it ran on (<see cref="ChannelReopenReason.RelayLimit"/>: a new circuit, or a direct connection if
    /// one exists), or a direct connection to the peer appeared while it ran on a relayed one
    /// (<see cref="ChannelReopenReason.DirectConnection"/>, raised by the side that dialed the channel, which moves it).
    /// The session resumes: no packet is lost or delivered twice. Only with <see cref="PeerNetworkOptions.AllowLimitedConnections"/>.
    /// </summary>
    public event EventHandler<ChannelReopenEventArgs>? ChannelReopening;

    /// <summary>
    /// Raised when a channel's session resumed on another connection after a relay limit (reason RelayLimit: it runs on a
    /// new circuit), or moved from a relayed connection onto a direct one, whatever started the move (reason
    /// DirectConnection), on either side; <see cref="PeerChannel.Connection"/> is the new connection.
    /// </summary>
    public event EventHandler<ChannelReopenEventArgs>? ChannelReopened;

    /// <summary>Raised when a peer is added to KnownPeers.</summary>
    public event EventHandler<IPeer>? KnownPeerAdded;

    /// <summary>Starts listening on <see cref="PeerNetworkOptions.ListenAddresses"/>; returns the bound addresses.</summary>
    public async Task<IReadOnlyList<Multiaddr>> StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0) return ListenAddresses;
        foreach (var address in Options.ListenAddresses) await Host.ListenAsync(address, cancellationToken).ConfigureAwait(false);
        return ListenAddresses;
    }

    /// <summary>
    /// Sends a packet to every open channel, and queues it on every channel that is reconnecting or resuming if its
    /// queue has room (without waiting for one); returns how many it was queued on.
    /// </summary>
    public async Task<int> BroadcastAsync(NetworkPacket packet, CancellationToken cancellationToken = default)
    {
        PacketCodec.Validate(packet);
        var open = _active.Values.Where(c => c.State is PeerChannelState.Open or PeerChannelState.Reconnecting or PeerChannelState.Resuming).ToList();
        var sends = open.Select(async c =>
        {
            try
            {
                if (c.State != PeerChannelState.Open) return c.TrySend(packet) ? 1 : 0;
                await c.SendAsync(packet, cancellationToken).ConfigureAwait(false);
                return 1;
            }
            catch (ObjectDisposedException)
            {
                return 0; // closed meanwhile
            }
        });
        return (await Task.WhenAll(sends).ConfigureAwait(false)).Sum();
    }

    /// <summary>The open (or reconnecting) channel with <paramref name="identifier"/>, if any.</summary>
    public PeerChannel? FindChannel(PeerId identifier) => _active.GetValueOrDefault(identifier);

    /// <summary>Blocks an identifier and disconnects it.</summary>
    public void BlockPeer(PeerId identifier) => TrustPolicy.BlockIdentifier(identifier);

    /// <summary>Closes every channel gracefully (DisconnectPackets), then the host.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        InboundConnectingPeersQueue.Complete();
        try
        {
            await Task.WhenAll(_active.Values.Select(c => c.ClosePeerChannelAsync("network stopping", cancellationToken))).ConfigureAwait(false);
        }
        finally
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(_background.Keys).ConfigureAwait(false);
            await Host.DisposeAsync().ConfigureAwait(false);
            lock (_filesLock) _files?.Dispose();
            Metrics.Dispose();
            _stopping.Dispose();
            if (_ownsIdentity) Identity.Dispose();
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(StopAsync());

    // The host's peer store keeps every known peer plus one entry per connection: raise its capacity when too small.
    private static SwarmOptions WithRoomForKnownPeers(PeerNetworkOptions options)
    {
        var swarm = options.Swarm;
        long needed = (long)options.MaxKnownPeers + swarm.MaxConnections;
        return swarm.PeerStore.Capacity >= needed ? swarm
            : swarm with { PeerStore = swarm.PeerStore with { Capacity = (int)Math.Min(needed, int.MaxValue) } };
    }

    /// <summary>Raises <see cref="ChannelOpening"/> for a new channel, then starts it on its first session.</summary>
    private void Start(PeerChannel channel, PeerChannel.Session session)
    {
        Raise(ChannelOpening, channel, nameof(ChannelOpening));
        channel.Start(session);
    }

    private void OnChannelClosed(PeerChannel channel, bool gaveUp)
    {
        if (_active.TryRemove(new KeyValuePair<PeerId, PeerChannel>(channel.Identifier, channel)))
            Raise(PeerRemoved, channel, nameof(PeerRemoved));
        if (gaveUp)
        {
            PeersLog.GaveUp(_logger, channel.Identifier);
            Raise(ChannelRetriesExhausted, channel, nameof(ChannelRetriesExhausted));
        }
    }

    private ChannelHello LocalHello() => new()
    {
        Identifier = Identifier.ToString(),
        Addresses = [.. ListenAddresses.Select(a => a.ToString())],
        NetworkName = Options.NetworkName,
        DisplayName = Options.DisplayName,
        AgentVersion = "p2pnet/" + (typeof(PeerNetwork).Assembly.GetName().Version?.ToString(3) ?? "0.1.0"),
        // A new session (a redial or the listener's answer replaces it); none when sessions are off (as an earlier version).
        Session = Options.WithoutSessions ? null : PeerChannel.NewSessionId(),
    };

    /// <summary>Keeps <paramref name="task"/> until it ends, so that stopping awaits it.</summary>
    private void Track(Task task)
    {
        if (task.IsCompleted) return;
        _background.TryAdd(task, 0);
        _ = task.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _background,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void Raise<T>(EventHandler<T>? handler, T args, string name)
    {
        if (handler is null) return;
        try
        {
            handler(this, args);
        }
        catch (Exception ex)
        {
            PeersLog.EventHandlerFailed(_logger, name, ex.Message);
        }
    }

    private async Task EnforceBlockListsAsync()
    {
        foreach (var channel in _active.Values)
        {
            if (TrustPolicy.IsBlocked(channel.Identifier) || TrustPolicy.IsBlocked(channel.Peer.IP))
                await channel.ClosePeerChannelAsync("blocked").ConfigureAwait(false);
        }
        foreach (var connection in Host.Connections)
        {
            if (TrustPolicy.IsBlocked(connection.RemotePeerId) || TrustPolicy.IsBlocked(connection.RemoteAddress.ToIPEndPoint()?.Address))
                await connection.CloseAsync().ConfigureAwait(false);
        }
    }
}
