using P2PNet.Core;
using P2PNet.Peers.Packets;
using P2PNet.Swarm;

namespace P2PNet.Peers;

/// <summary>Settings of a <see cref="PeerNetwork"/>; every limit has a documented default.</summary>
public sealed record PeerNetworkOptions
{
    /// <summary>The node's identity; null makes a fresh in-memory one (owned and disposed by the network).</summary>
    public Identity? Identity { get; init; }

    /// <summary>Where to listen. Default <c>/ip4/0.0.0.0/tcp/0</c> (all IPv4 interfaces, any free port).</summary>
    public IReadOnlyList<Multiaddr> ListenAddresses { get; init; } = [Multiaddr.Parse("/ip4/0.0.0.0/tcp/0")];

    /// <summary>The network's name, announced in hellos. Default <c>p2pnet</c>.</summary>
    public string NetworkName { get; init; } = "p2pnet";

    /// <summary>A display name for this node, announced in hellos. Default none.</summary>
    public string? DisplayName { get; init; }

    /// <summary>Redials of an outbound channel whose connection dropped without a DisconnectPacket. Default 3.</summary>
    public int MaxConnectRetries { get; init; } = 3;

    /// <summary>First redial delay; each further one doubles, up to <see cref="RetryMaxDelay"/>. Default 250 ms.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest redial delay. Default 30 s.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Packets queued per channel before <see cref="PeerChannel.SendAsync"/> waits. Default 256.</summary>
    public int SendQueueCapacity { get; init; } = 256;

    /// <summary>
    /// How long an inbound channel whose connection failed (reset, read or write error) waits, in state
    /// <see cref="PeerChannelState.Resuming"/>, for its dialer to redial and resume the session; sends on it are queued
    /// meanwhile. Then it closes (reason <c>resume window expired</c>) and reports its undelivered packets.
    /// <see cref="TimeSpan.Zero"/> closes at once. Default 30 s.
    /// </summary>
    public TimeSpan ResumeWindow { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Packets written but not yet acknowledged by the peer, kept per channel to be replayed after a reconnect; when
    /// this many (or <see cref="MaxUnacknowledgedBytes"/>) are outstanding the channel stops writing, its send queue
    /// fills and <see cref="PeerChannel.SendAsync"/> waits. Default 16384 (small packets; larger ones meet
    /// <see cref="MaxUnacknowledgedBytes"/> first). A receiver acknowledges at once after an eighth of its own window
    /// (at most 2048 packets), so give both peers the same value: a sender whose window is much smaller than its peer's
    /// waits for the peer's 1 ms acknowledgement timer whenever its window fills.
    /// </summary>
    public int MaxUnacknowledgedPackets { get; init; } = 16384;

    /// <summary>Frame bytes written but not yet acknowledged, per channel (at least one packet is always allowed). Default 4 MiB.</summary>
    public int MaxUnacknowledgedBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Largest packet frame accepted from a peer. Default 16 MiB.</summary>
    public int MaxFrameLength { get; init; } = PacketCodec.MaxFrameLength;

    /// <summary>Most peers kept in KnownPeers. Default 1000.</summary>
    public int MaxKnownPeers { get; init; } = 1000;

    /// <summary>Most inbound peers waiting in the InboundConnectingPeersQueue; further ones are refused. Default 64.</summary>
    public int InboundQueueCapacity { get; init; } = 64;

    /// <summary>Time the application has to accept a queued inbound peer before it is rejected. Default 60 s.</summary>
    public TimeSpan InboundDecisionTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Time a dialer allows for its channel to open: the listener's hello (or refusal), which comes after the
    /// listener's application decided. Default 70 s, beyond <see cref="InboundDecisionTimeout"/>.
    /// </summary>
    public TimeSpan ChannelOpenTimeout { get; init; } = TimeSpan.FromSeconds(70);

    /// <summary>
    /// Time a listener allows a dialer, from the moment its channel stream opens, to send its hello. The peer is
    /// placed (event or queue) only once its hello has been read; one that sends none loses the stream. Default 10 s.
    /// </summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// When two nodes dial each other at once, the dial of the node whose PeerId sorts lower is kept on both sides;
    /// the other side waits at most this long for its own dial to be refused before accepting. Default 10 s.
    /// </summary>
    public TimeSpan SimultaneousDialWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time allowed for the DefaultTrustProtocol. Default 30 s.</summary>
    public TimeSpan TrustProtocolTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed to send the DisconnectPacket when closing. Default 2 s.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Whether channels run on limited connections: relayed circuits (circuit relay v2), which a relay ends at its time
    /// or data limit. When true the channel protocol opts in to limited connections (as ping and identify do); when a
    /// relay limit ends the circuit under a channel, it reopens on a new circuit (or a direct connection) and resumes its
    /// session without losing packets, and when a direct connection to the peer appears the channel moves onto it (see
    /// <see cref="PeerNetwork.ChannelReopening"/>). When false, opening a channel with a peer reachable only through a
    /// relay waits up to <see cref="SwarmOptions.DialTimeout"/> for a direct connection (hole punching, or the peer
    /// dialing us) and then fails with <see cref="PeerNetworkError.LimitedConnection"/>. Default false.
    /// </summary>
    public bool AllowLimitedConnections { get; init; }

    /// <summary>
    /// Internal, for the bench (the cost of acknowledgements) and tests: the node's hellos offer no session, as a peer of
    /// an earlier version's do, so its channels neither sequence, acknowledge nor resume (docs/protocol.md).
    /// </summary>
    internal bool WithoutSessions { get; init; }

    /// <summary>The libp2p host settings (handshake timeout, limits).</summary>
    public SwarmOptions Swarm { get; init; } = new();
}
