using P2PNet.Core;

namespace P2PNet.Peers;

/// <summary>A peer was discovered by a mechanism (mdns, broadcast, exchange) and is now in KnownPeers.</summary>
public sealed class PeerDiscoveredEventArgs(IPeer peer, string source, IReadOnlyList<Multiaddr> addresses) : EventArgs
{
    /// <summary>The peer as the network knows it.</summary>
    public IPeer Peer { get; } = peer;

    /// <summary>The mechanism that reported it (P2PNet.Discovery.DiscoverySources).</summary>
    public string Source { get; } = source;

    /// <summary>The addresses the mechanism reported.</summary>
    public IReadOnlyList<Multiaddr> Addresses { get; } = addresses;
}
