using System.Net;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Tests.Swarm;

/// <summary>Per-IP admission limits: IPv6 counted by /64, IPv4 and loopback by address.</summary>
public sealed class IpPrefixAdmissionTests
{
    private static SwarmHost Host(Identity id, int maxPendingPerIp) =>
        new(id, new SwarmOptions { Limits = new ResourceLimits { MaxPendingHandshakesPerIp = maxPendingPerIp } });

    [Fact]
    public async Task Ipv6_addresses_in_one_slash64_share_the_handshake_slots()
    {
        using var id = Identity.Generate();
        await using var host = Host(id, 2);
        Assert.NotNull(host.Resources.TryAdmit(IPAddress.Parse("2001:db8:1:2::1"), out _));
        Assert.NotNull(host.Resources.TryAdmit(IPAddress.Parse("2001:db8:1:2:aaaa::2"), out _));
        Assert.Null(host.Resources.TryAdmit(IPAddress.Parse("2001:db8:1:2:ffff:ffff:ffff:ffff"), out string? limit));
        Assert.Contains("ip handshakes", limit);
        // Another /64 has its own slots.
        Assert.NotNull(host.Resources.TryAdmit(IPAddress.Parse("2001:db8:1:3::1"), out _));
    }

    [Fact]
    public async Task Released_slot_of_a_slash64_can_be_taken_by_another_address_in_it()
    {
        using var id = Identity.Generate();
        await using var host = Host(id, 1);
        var slot = host.Resources.TryAdmit(IPAddress.Parse("2001:db8::1"), out _);
        Assert.NotNull(slot);
        Assert.Null(host.Resources.TryAdmit(IPAddress.Parse("2001:db8::2"), out _));
        slot.Release();
        Assert.NotNull(host.Resources.TryAdmit(IPAddress.Parse("2001:db8::2"), out _));
    }

    [Fact]
    public async Task Ipv4_and_loopback_are_counted_per_address()
    {
        using var id = Identity.Generate();
        await using var host = Host(id, 1);
        Assert.NotNull(host.Resources.TryAdmit(IPAddress.Parse("192.0.2.1"), out _));
        Assert.NotNull(host.Resources.TryAdmit(IPAddress.Parse("192.0.2.2"), out _));
        Assert.Null(host.Resources.TryAdmit(IPAddress.Parse("192.0.2.1"), out _));
        // ::1 keeps the loopback limit (64 by default), not the per-IP one.
        Assert.NotNull(host.Resources.TryAdmit(IPAddress.IPv6Loopback, out _));
        Assert.NotNull(host.Resources.TryAdmit(IPAddress.IPv6Loopback, out _));
        Assert.Equal(IPAddress.Parse("2001:db8:1:2::"), ResourceManager.IpKey(IPAddress.Parse("2001:db8:1:2:3:4:5:6")));
    }
}
