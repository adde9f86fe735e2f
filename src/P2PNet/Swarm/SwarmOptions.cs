using P2PNet.Transports.Tcp;
using P2PNet.Upgrade;

namespace P2PNet.Swarm;

/// <summary>Settings of a <see cref="SwarmHost"/>; every limit has a documented default.</summary>
public sealed partial record SwarmOptions
{
    /// <summary>Connection upgrade settings (handshake timeout, yamux).</summary>
    public UpgradeOptions Upgrade { get; init; } = new();

    /// <summary>TCP settings.</summary>
    public TcpTransportOptions Tcp { get; init; } = new();

    /// <summary>Most connections held at once; further inbound ones are closed at accept. Default 1024.</summary>
    public int MaxConnections { get; init; } = 1024;

    /// <summary>Most inbound handshakes in progress at once; accepting pauses beyond it. Default 64.</summary>
    public int MaxPendingInboundHandshakes { get; init; } = 64;

    /// <summary>Time allowed for multistream-select on a new stream. Default 10 s.</summary>
    public TimeSpan StreamNegotiationTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
