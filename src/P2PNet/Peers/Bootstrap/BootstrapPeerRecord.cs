namespace P2PNet.Peers.Bootstrap;

/// <summary>A peer as a bootstrap server lists it.</summary>
public sealed record BootstrapPeerRecord
{
    /// <summary>The peer's identifier (base58 PeerId).</summary>
    public string PeerId { get; init; } = "";

    /// <summary>The addresses the peer registered (signed by the peer).</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];

    /// <summary>When the server last heard the peer, Unix milliseconds.</summary>
    public long LastSeen { get; init; }
}
