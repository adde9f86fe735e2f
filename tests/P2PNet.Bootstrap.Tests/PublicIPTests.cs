using System.Net;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Bootstrap.Tests;

/// <summary>PublicIPv4GetPolicy against real servers' /v1/my-ip: single, failover, consensus.</summary>
public sealed class PublicIPTests
{
    [Fact]
    public async Task Single_failover_and_consensus_policies_find_the_address_the_servers_see()
    {
        using var folder1 = new TempFolder();
        using var folder2 = new TempFolder();
        await using var one = await TestServer.StartAsync(folder1.Path);
        await using var two = await TestServer.StartAsync(folder2.Path, o => o.Mode = BootstrapMode.Authority);
        var dead = new Uri("http://127.0.0.1:1/v1/my-ip");
        Uri Ip(BootstrapServer s) => new(s.Url(), "v1/my-ip");
        using var http = new HttpClient();
        await using var network = await TestServer.NetworkAsync();

        network.NetworkTrustPolicy.PublicIPv4GetPolicy = PublicIPv4GetPolicy.SingleUrl(Ip(one));
        Assert.Equal(IPAddress.Loopback, await network.GetPublicIPv4Async(http));
        network.NetworkTrustPolicy.PublicIPv4GetPolicy = PublicIPv4GetPolicy.Failover([dead, Ip(two)]);
        Assert.Equal(IPAddress.Loopback, await network.GetPublicIPv4Async(http));
        network.NetworkTrustPolicy.PublicIPv4GetPolicy = PublicIPv4GetPolicy.Consensus([Ip(one), dead, Ip(two)]);
        Assert.Equal(IPAddress.Loopback, await network.GetPublicIPv4Async(http));

        network.NetworkTrustPolicy.PublicIPv4GetPolicy = PublicIPv4GetPolicy.Consensus([Ip(one), dead, dead]);
        var error = await Assert.ThrowsAsync<BootstrapException>(() => network.GetPublicIPv4Async(http));
        Assert.Equal(BootstrapError.PublicIPUnavailable, error.Error);
        network.NetworkTrustPolicy.PublicIPv4GetPolicy = PublicIPv4GetPolicy.SingleUrl(dead);
        Assert.Equal(BootstrapError.PublicIPUnavailable, (await Assert.ThrowsAsync<BootstrapException>(() => network.GetPublicIPv4Async(http))).Error);
    }
}
