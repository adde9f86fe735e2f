namespace P2PNet.Peers.Bootstrap;

/// <summary>
/// Network-wide trust settings beyond incoming peers: which bootstrap servers are accepted and how the
/// public IPv4 address is learned. One per <see cref="PeerNetwork"/> (<see cref="PeerNetwork.NetworkTrustPolicy"/>).
/// </summary>
public sealed class PeerNetworkTrustPolicy
{
    /// <summary>Which bootstrap servers are accepted.</summary>
    public BootstrapTrustPolicy Bootstrap { get; } = new();

    /// <summary>How the public IPv4 address is learned; null until set (then <see cref="PeerNetwork.GetPublicIPv4Async"/> refuses).</summary>
    public PublicIPv4GetPolicy? PublicIPv4GetPolicy { get; set; }
}
