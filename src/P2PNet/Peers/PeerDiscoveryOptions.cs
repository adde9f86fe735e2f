namespace P2PNet.Peers;

/// <summary>
/// Settings of peer exchange and auto-connect, given to <see cref="PeerNetwork.StartPeerDiscovery"/>.
/// Every limit has a documented default.
/// </summary>
public sealed record PeerDiscoveryOptions
{
    /// <summary>Share known peers (CollectionSharePacket) when a channel opens and every <see cref="PeerExchangeInterval"/>. Default true.</summary>
    public bool PeerExchange { get; init; } = true;

    /// <summary>Time between peer-exchange rounds on every open channel. Default 30 s.</summary>
    public TimeSpan PeerExchangeInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Most peers shared per packet (random sample; at most PacketCodec.MaxPeersPerShare). Default 32.</summary>
    public int MaxSharedPeers { get; init; } = 32;

    /// <summary>Active channels the network keeps by dialing known peers; 0 turns auto-connect off. Default 8.</summary>
    public int TargetPeerCount { get; init; } = 8;

    /// <summary>Time between auto-connect rounds (a newly discovered peer also starts one at once). Default 2 s.</summary>
    public TimeSpan AutoConnectInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Wait before dialing a peer again after its first failed dial; doubles per failure. Default 1 s.</summary>
    public TimeSpan DialBackoffBase { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between dials of one peer. Default 5 min.</summary>
    public TimeSpan DialBackoffMax { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Time allowed for one auto-connect dial (connection, handshake, hello, trust protocol). Default 10 s.</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// When two nodes learn of each other at once, both dialing makes each refuse the other as a duplicate:
    /// the node whose PeerId sorts higher waits this long after learning of a peer, giving it the first dial.
    /// Default 1 s.
    /// </summary>
    public TimeSpan YieldDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Most auto-connect dials in flight at once. Default 4.</summary>
    public int MaxConcurrentDials { get; init; } = 4;
}
