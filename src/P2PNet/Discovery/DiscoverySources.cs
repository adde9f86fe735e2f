namespace P2PNet.Discovery;

/// <summary>Names of the discovery mechanisms, as reported in <see cref="DiscoveredPeer.Source"/>.</summary>
public static class DiscoverySources
{
    /// <summary>Multicast DNS (libp2p mDNS).</summary>
    public const string Mdns = "mdns";

    /// <summary>UDP LAN broadcast/multicast announcements.</summary>
    public const string Broadcast = "broadcast";

    /// <summary>Peer exchange (CollectionSharePacket from a connected peer).</summary>
    public const string Exchange = "exchange";
}
