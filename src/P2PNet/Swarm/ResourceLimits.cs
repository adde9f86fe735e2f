namespace P2PNet.Swarm;

/// <summary>
/// Per-IP, per-peer and per-protocol limits of a <see cref="SwarmHost"/> (go-libp2p's resource manager scopes);
/// the system-wide ones are <see cref="SwarmOptions.MaxConnections"/>,
/// <see cref="SwarmOptions.MaxPendingInboundHandshakes"/>, <see cref="MaxInboundStreams"/> and
/// <see cref="MaxBufferedBytes"/>. A connection or stream limit hit refuses the connection or stream, a buffered-bytes
/// limit applies backpressure (see <see cref="MaxBufferedBytesPerConnection"/>); every hit counts
/// in the <c>p2pnet.swarm.limit.hits</c> metric and is logged at most once per <see cref="LogInterval"/> per limit.
/// </summary>
/// <remarks>
/// Per-IP limits count IPv4 addresses exactly and IPv6 addresses by their /64 prefix (one subscriber usually
/// holds a whole /64, so counting each IPv6 address would let it take every handshake slot). Loopback addresses (127.0.0.0/8, ::1) have their own, higher per-IP
/// limits so that many nodes on one machine, and tests opening many connections from 127.0.0.1, keep working,
/// while one loopback address still cannot take every handshake slot.
/// </remarks>
public sealed record ResourceLimits
{
    /// <summary>Inbound handshakes in progress from one non-loopback IP; more are closed at accept. Default 8.</summary>
    public int MaxPendingHandshakesPerIp { get; init; } = 8;

    /// <summary>Inbound handshakes in progress from one loopback IP. Default 64.</summary>
    public int MaxPendingHandshakesPerLoopbackIp { get; init; } = 64;

    /// <summary>Inbound connections (upgraded or upgrading) from one non-loopback IP. Default 64.</summary>
    public int MaxInboundConnectionsPerIp { get; init; } = 64;

    /// <summary>Inbound connections from one loopback IP. Default unlimited (only <see cref="SwarmOptions.MaxConnections"/>).</summary>
    public int MaxInboundConnectionsPerLoopbackIp { get; init; } = int.MaxValue;

    /// <summary>Connections with one peer, both directions; more are refused with <see cref="RefusalReason.ResourceLimit"/>. Default 8.</summary>
    public int MaxConnectionsPerPeer { get; init; } = 8;

    /// <summary>Inbound streams served at once for one peer, over all its connections. Default 1024.</summary>
    public int MaxInboundStreamsPerPeer { get; init; } = 1024;

    /// <summary>Inbound streams served at once for one protocol, over all peers. Default 8192.</summary>
    public int MaxInboundStreamsPerProtocol { get; init; } = 8192;

    /// <summary>Inbound streams served at once in the whole host. Default 16384.</summary>
    public int MaxInboundStreams { get; init; } = 16384;

    /// <summary>
    /// Bytes received on one connection's streams and not yet read by the application. Past it the connection is not
    /// read until the application reads (TCP then pauses the sender) and streams holding unread bytes get no window
    /// updates: backpressure, never a reset. A connection holding nothing may always take one frame. Default 16 MiB
    /// (64 streams with a full 256 KiB yamux window each).
    /// </summary>
    public long MaxBufferedBytesPerConnection { get; init; } = 16L * 1024 * 1024;

    /// <summary>Bytes buffered for one peer over all its connections, enforced like <see cref="MaxBufferedBytesPerConnection"/>. Default 32 MiB.</summary>
    public long MaxBufferedBytesPerPeer { get; init; } = 32L * 1024 * 1024;

    /// <summary>
    /// Bytes buffered in the whole host. Past it, connections that hold unread bytes wait for their application to
    /// read them (connections holding nothing still take one frame each). Default 512 MiB.
    /// </summary>
    public long MaxBufferedBytes { get; init; } = 512L * 1024 * 1024;

    /// <summary>Least time between two log lines about the same limit. Default 10 s.</summary>
    public TimeSpan LogInterval { get; init; } = TimeSpan.FromSeconds(10);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingHandshakesPerIp, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingHandshakesPerLoopbackIp, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInboundConnectionsPerIp, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInboundConnectionsPerLoopbackIp, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnectionsPerPeer, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInboundStreamsPerPeer, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInboundStreamsPerProtocol, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInboundStreams, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBufferedBytesPerConnection, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBufferedBytesPerPeer, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBufferedBytes, 1);
    }
}
