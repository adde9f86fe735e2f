namespace P2PNet.Peers.Bootstrap;

/// <summary>The server's identity and mode.</summary>
public sealed record BootstrapIdentityAnswer
{
    /// <summary>Trustless or authority.</summary>
    public BootstrapMode Mode { get; init; }

    /// <summary>The authority's PeerId (authority mode only).</summary>
    public string? PeerId { get; init; }

    /// <summary>The server software version.</summary>
    public string? Version { get; init; }

    /// <summary>How long a registration lives without a heartbeat, in seconds.</summary>
    public int PeerTtlSeconds { get; init; }

    /// <summary>When the server answered, Unix milliseconds.</summary>
    public long IssuedAt { get; init; }
}
