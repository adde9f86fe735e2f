namespace P2PNet.Peers.Bootstrap;

/// <summary>The answer to a peer query: a bounded random sample of the caller's network, never the caller.</summary>
public sealed record BootstrapPeersAnswer
{
    /// <summary>The network asked about.</summary>
    public string Network { get; init; } = "";

    /// <summary>Who asked (the PeerId given in the query), so an answer cannot be replayed to someone else.</summary>
    public string? Requester { get; init; }

    /// <summary>The peers.</summary>
    public IReadOnlyList<BootstrapPeerRecord> Peers { get; init; } = [];

    /// <summary>Network tasks (authority mode only).</summary>
    public IReadOnlyList<BootstrapNetworkTask> Tasks { get; init; } = [];

    /// <summary>When the server answered, Unix milliseconds.</summary>
    public long IssuedAt { get; init; }
}
