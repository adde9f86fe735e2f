using System.Net;
using System.Net.Sockets;
using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>
/// Which IP addresses count as public: global unicast ones, minus the private and special-use ranges of the IANA
/// registries (RFC 6890 and successors), plus whatever the owner lists as public (a lab whose internet is a
/// special-use range: the CLI's <c>--public-cidr</c>). Shared by AutoNAT and DCUtR.
/// Only IP literals with TCP qualify: a server never resolves a name a requester hands it.
/// </summary>
internal sealed class AddressScope(IReadOnlyList<IPNetwork> publicCidrs)
{
    private static readonly IPNetwork[] NotPublic =
    [
        .. new[]
        {
            "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
            "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
            "224.0.0.0/4", "240.0.0.0/4",
            "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
            "3fff::/20", "fc00::/7", "fe80::/10", "ff00::/8",
        }.Select(IPNetwork.Parse),
    ];

    private readonly IPNetwork[] _public = [.. publicCidrs];

    /// <summary>True when <paramref name="ip"/> is public, or in a range listed as public.</summary>
    public bool IsPublic(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        foreach (var network in _public)
            if (network.Contains(ip)) return true;
        foreach (var network in NotPublic)
            if (network.Contains(ip)) return false;
        return true;
    }

    /// <summary>The IP and TCP port of <paramref name="address"/> when it is <c>/ip4|ip6/…/tcp/…</c> (a <c>/p2p/</c> may follow) and public.</summary>
    public IPEndPoint? PublicTcpEndPoint(Multiaddr address)
    {
        var c = address.Components;
        if (c.Count < 2 || c[0].Protocol is not (MultiaddrProtocol.Ip4 or MultiaddrProtocol.Ip6) || c[1].Protocol != MultiaddrProtocol.Tcp) return null;
        for (int i = 2; i < c.Count; i++)
            if (c[i].Protocol != MultiaddrProtocol.P2p) return null; // relayed or another transport on top of TCP
        if (address.ToIPEndPoint() is not { } endPoint || endPoint.Port == 0) return null;
        if (endPoint.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)) return null;
        return IsPublic(endPoint.Address) ? endPoint : null;
    }
}
