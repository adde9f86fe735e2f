namespace P2PNet.Swarm;

// Settings of dialing, the peer store and observed addresses.
public sealed partial record SwarmOptions
{
    /// <summary>The peer store's settings (capacity, TTLs).</summary>
    public PeerStoreOptions PeerStore { get; init; } = new();

    /// <summary>Time allowed for one <see cref="SwarmHost.DialAsync(P2PNet.Core.PeerId, CancellationToken)"/>, all addresses together. Default 30 s.</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Distinct observers (IPv4 addresses, IPv6 /56s) that must report an observed address of ours on inbound
    /// connections before it counts as one of our <see cref="SwarmHost.Addresses"/>. Default 4, as go-libp2p; at least 1.
    /// </summary>
    public int ObservedAddressThreshold
    {
        get => _observedAddressThreshold;
        init => _observedAddressThreshold = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), "at least 1");
    }

    private readonly int _observedAddressThreshold = 4;

    /// <summary>
    /// When two connections to one peer exist (both dialed at once), how long the one not preferred is left alone
    /// before it is closed as soon as it carries no stream. Default 1 s.
    /// </summary>
    public TimeSpan RedundantConnectionGracePeriod { get; init; } = TimeSpan.FromSeconds(1);
}
