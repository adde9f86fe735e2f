namespace P2PNet.Swarm;

/// <summary>Settings of the <see cref="PeerStore"/>.</summary>
public sealed record PeerStoreOptions
{
    /// <summary>
    /// Most peers kept. When full, the least recently updated peer without a live connection is evicted;
    /// when every stored peer is connected, a new peer is not stored. Default 4096 (above
    /// <see cref="SwarmOptions.MaxConnections"/>, so connected peers always fit).
    /// </summary>
    public int Capacity { get; init; } = 4096;

    /// <summary>Most addresses kept per peer; the ones expiring first make room. Default 32.</summary>
    public int MaxAddressesPerPeer { get; init; } = 32;

    /// <summary>Most protocol ids kept per peer (identify may list more; the rest are dropped). Default 128.</summary>
    public int MaxProtocolsPerPeer { get; init; } = 128;

    /// <summary>TTL of addresses from identify and of dialed addresses. Default 1 h.</summary>
    public TimeSpan IdentifyAddressTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>TTL of addresses from discovery and peer exchange. Default 10 min.</summary>
    public TimeSpan DiscoveredAddressTtl { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Addresses of a connected peer do not expire; when its last connection closes, each is kept at least this
    /// long from then (go-libp2p's RecentlyConnectedAddrTTL). Default 10 min.
    /// </summary>
    public TimeSpan RecentlyConnectedAddressTtl { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>TTL of bootstrap addresses. Default 1 h.</summary>
    public TimeSpan BootstrapAddressTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The clock (tests pass a manual one). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The default TTL of an address from <paramref name="source"/>; <see cref="Timeout.InfiniteTimeSpan"/> for never.</summary>
    public TimeSpan DefaultTtl(AddressSource source) => source switch
    {
        AddressSource.Manual => Timeout.InfiniteTimeSpan,
        AddressSource.Bootstrap => BootstrapAddressTtl,
        AddressSource.Discovery or AddressSource.Exchange => DiscoveredAddressTtl,
        _ => IdentifyAddressTtl,
    };
}
