using P2PNet.Core;
using P2PNet.Transports.Tcp;
using P2PNet.Upgrade;

namespace P2PNet.Swarm;

/// <summary>Settings of a <see cref="SwarmHost"/>; every limit has a documented default.</summary>
public sealed partial record SwarmOptions
{
    /// <summary>Connection upgrade settings (handshake timeouts, yamux).</summary>
    public UpgradeOptions Upgrade { get; init; } = new();

    /// <summary>TCP settings (for the default TCP transport).</summary>
    public TcpTransportOptions Tcp { get; init; } = new();

    /// <summary>
    /// The transports, asked in order which one handles a multiaddr (<see cref="ITransport.CanHandle"/>). Null or
    /// empty: TCP alone, with <see cref="Tcp"/>.
    /// </summary>
    public IReadOnlyList<ITransport>? Transports { get; init; }

    /// <summary>
    /// Security protocols offered and accepted, in order of preference. Null or empty: Noise for the host's
    /// identity. Instances passed here stay the caller's to dispose.
    /// </summary>
    public IReadOnlyList<ISecurityTransport>? SecurityTransports { get; init; }

    /// <summary>Stream muxers offered and accepted, in order of preference. Null or empty: yamux with <see cref="UpgradeOptions.Yamux"/>.</summary>
    public IReadOnlyList<IStreamMuxerFactory>? Muxers { get; init; }

    /// <summary>The initial connection gater (see <see cref="SwarmHost.Gater"/>, which can be replaced later). Null allows everything.</summary>
    public IConnectionGater? Gater { get; init; }

    /// <summary>Per-IP, per-peer and per-protocol limits.</summary>
    public ResourceLimits Limits { get; init; } = new();

    /// <summary>Most connections held at once; further inbound ones are closed at accept. Default 1024.</summary>
    public int MaxConnections { get; init; } = 1024;

    /// <summary>
    /// Most inbound handshakes in progress at once, over all addresses; a connection accepted beyond it is
    /// closed at once (the accept loop never waits for a slot). Default 256. Per-IP shares are in
    /// <see cref="ResourceLimits"/>, so one address cannot take them all.
    /// </summary>
    public int MaxPendingInboundHandshakes { get; init; } = 256;

    /// <summary>Time allowed for multistream-select on a new stream. Default 10 s.</summary>
    public TimeSpan StreamNegotiationTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
