namespace P2PNet.Peers.Bootstrap;

/// <summary>The caller's IP address as the server sees it.</summary>
public sealed record BootstrapIpAnswer
{
    /// <summary>The address (textual IPv4 or IPv6).</summary>
    public string Address { get; init; } = "";

    /// <summary>When the server answered, Unix milliseconds.</summary>
    public long IssuedAt { get; init; }
}
