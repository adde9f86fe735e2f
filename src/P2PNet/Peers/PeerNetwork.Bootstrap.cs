using System.Net;
using P2PNet.Core;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Peers;

// Hooks for bootstrap clients: adding peers heard of from a server, the network-wide trust policy, public IP.
public sealed partial class PeerNetwork
{
    /// <summary>Which bootstrap servers this network accepts and how it learns its public IPv4 address.</summary>
    public PeerNetworkTrustPolicy NetworkTrustPolicy { get; } = new();

    /// <summary>
    /// Adds a peer heard of from elsewhere (a bootstrap server, discovery) to KnownPeers. Ignored (returns
    /// null) for ourselves, a blocked identifier, a peer found not to speak the P2PNet channel protocol (a plain
    /// libp2p node, heard of by mDNS for example), or when no address is a dialable TCP address that is not blocked.
    /// </summary>
    public IPeer? AddKnownPeer(PeerId identifier, IEnumerable<Multiaddr> addresses, string source = "bootstrap")
    {
        ArgumentNullException.ThrowIfNull(identifier);
        ArgumentNullException.ThrowIfNull(addresses);
        if (identifier == Identifier || TrustPolicy.IsBlocked(identifier) || _foreign.ContainsKey(identifier)) return null;
        var usable = addresses.Where(a => a.TcpTarget is not null && !TrustPolicy.IsBlocked(a.ToIPEndPoint()?.Address))
            .Take(GenericPeer.MaxAddresses).ToList();
        return usable.Count == 0 ? null : Remember(identifier, usable, source); // merges into a peer already known
    }

    /// <summary>Learns this node's public IPv4 address under <see cref="PeerNetworkTrustPolicy.PublicIPv4GetPolicy"/>.</summary>
    /// <exception cref="InvalidOperationException">No policy is set.</exception>
    /// <exception cref="BootstrapException">The sources failed or disagreed.</exception>
    public async Task<IPAddress> GetPublicIPv4Async(HttpClient httpClient, CancellationToken cancellationToken = default)
    {
        var policy = NetworkTrustPolicy.PublicIPv4GetPolicy ?? throw new InvalidOperationException("set NetworkTrustPolicy.PublicIPv4GetPolicy first");
        return await policy.GetAsync(httpClient, cancellationToken).ConfigureAwait(false);
    }
}
