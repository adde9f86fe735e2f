namespace P2PNet.Swarm;

/// <summary>Where a peer's address in the <see cref="PeerStore"/> came from; each source has a default TTL.</summary>
public enum AddressSource
{
    /// <summary>Added by the application; never expires unless a TTL is given.</summary>
    Manual,
    /// <summary>A bootstrap server or a configured bootstrap peer (1 h).</summary>
    Bootstrap,
    /// <summary>The peer's own listen addresses, from identify (1 h).</summary>
    Identify,
    /// <summary>A discovery mechanism on the local network, e.g. mDNS (10 min).</summary>
    Discovery,
    /// <summary>Another peer told us, e.g. peer exchange (10 min).</summary>
    Exchange,
    /// <summary>An address we dialed successfully (1 h).</summary>
    Dial,
}
