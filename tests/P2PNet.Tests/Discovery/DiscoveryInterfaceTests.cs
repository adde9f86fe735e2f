using System.Net;
using P2PNet.Core;
using P2PNet.Discovery;

namespace P2PNet.Tests.Discovery;

/// <summary>Which addresses discovery announces and accepts (pure: no socket).</summary>
public sealed class DiscoveryInterfaceTests
{
    private static DiscoveryInterface Nic(bool loopback) =>
        new("lan0", 2, [(IPAddress.Parse("10.0.0.2"), IPAddress.Parse("10.0.0.255"))], [IPAddress.Parse("fd31::2"), IPAddress.Parse("fe80::2")], loopback, 2);

    [Fact]
    public void Link_local_IPv6_addresses_are_not_dialable_and_never_announced()
    {
        Assert.False(DiscoveryInterface.IsDialable(Multiaddr.Parse("/ip6/fe80::1/tcp/4001")));
        Assert.False(DiscoveryInterface.IsDialable(Multiaddr.Parse("/ip4/10.0.0.2/udp/4001")));
        Assert.True(DiscoveryInterface.IsDialable(Multiaddr.Parse("/ip6/fd31::2/tcp/4001")));
        Assert.True(DiscoveryInterface.IsDialable(Multiaddr.Parse("/dns4/example.com/tcp/4001")));

        Multiaddr[] own =
        [
            Multiaddr.Parse("/ip4/10.0.0.2/tcp/4001"), Multiaddr.Parse("/ip6/fd31::2/tcp/4001"), Multiaddr.Parse("/ip6/fe80::2/tcp/4001"),
            Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001"), Multiaddr.Parse("/ip6/::1/tcp/4001"),
        ];
        Assert.Equal(["/ip4/10.0.0.2/tcp/4001", "/ip6/fd31::2/tcp/4001"], Nic(loopback: false).Announceable(own).Select(a => a.ToString()));
        Assert.Equal(["/ip4/10.0.0.2/tcp/4001", "/ip6/fd31::2/tcp/4001", "/ip4/127.0.0.1/tcp/4001", "/ip6/::1/tcp/4001"],
            Nic(loopback: true).Announceable(own).Select(a => a.ToString()));
    }

    [Fact]
    public void An_interface_supports_a_family_when_it_has_an_address_and_an_index_of_it()
    {
        var v6Only = new DiscoveryInterface("lan0", -1, [], [IPAddress.Parse("fd31::2")], false, 3);
        Assert.False(v6Only.SupportsIPv4);
        Assert.True(v6Only.SupportsIPv6);
        Assert.False((v6Only with { IPv6Index = -1 }).SupportsIPv6);
        Assert.Equal(!OperatingSystem.IsLinux(), (v6Only with { IsLoopback = true }).SupportsIPv6); // Linux lo: no IPv6 multicast
    }
}
