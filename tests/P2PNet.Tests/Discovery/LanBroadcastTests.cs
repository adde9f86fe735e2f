using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Discovery.LanBroadcast;
using P2PNet.Peers;
using P2PNet.Tests.Peers;
using Xunit.Abstractions;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Discovery;

/// <summary>LAN broadcast discovery, only inside the private namespace (pinned to lo there as well).</summary>
[Trait("Category", NetNs.Category)]
public sealed class LanBroadcastTests(ITestOutputHelper output)
{
    private static int _port = 46000;

    private static LanBroadcastOptions Options(int port, string network = "p2pnet") => new()
    {
        Port = port,
        Interface = "lo",
        NetworkName = network,
        AnnounceInterval = TimeSpan.FromMilliseconds(200),
    };

    [NamespaceFact]
    public async Task Three_nodes_find_and_connect_to_each_other_by_broadcast_alone()
    {
        NetNs.AssertIsolated();
        int port = Interlocked.Increment(ref _port);
        var (first, mesh) = await DiscoveryMesh.FormAsync(3, () => new LanBroadcastDiscovery(Options(port)), DiscoverySources.Broadcast);
        Measure.Report(output, $"broadcast: first discovery {first} ms after start, full mesh of 3 after {mesh} ms");
    }

    [NamespaceFact]
    public async Task Foreign_networks_garbage_and_floods_are_dropped_and_the_node_keeps_listening()
    {
        NetNs.AssertIsolated();
        int port = Interlocked.Increment(ref _port);
        using var me = Identity.Generate();
        await using var discovery = new LanBroadcastDiscovery(Options(port) with { AnnounceInterval = TimeSpan.FromHours(1) });
        var seen = new List<DiscoveredPeer>();
        var good = new TaskCompletionSource<DiscoveredPeer>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var friend = Identity.Generate();
        discovery.PeerDiscovered += (_, p) => { lock (seen) seen.Add(p); if (p.PeerId == friend.PeerId) good.TrySetResult(p); };
        await discovery.StartAsync(me.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/1")]);
        Assert.Equal("lo", Assert.Single(discovery.Interfaces).Name);

        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var target = new IPEndPoint(IPAddress.Parse("239.255.42.99"), port);
        using var stranger = Identity.Generate();
        await udp.SendAsync(new LanAnnouncement("other", stranger.PeerId, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/2")]).Encode(), target);
        await udp.SendAsync(new byte[] { 1, 2, 3 }, target);
        await udp.SendAsync("P2PNLAN1\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"u8.ToArray(), target);
        var truncated = new LanAnnouncement("p2pnet", stranger.PeerId, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/2")]).Encode();
        await udp.SendAsync(truncated.AsMemory(0, truncated.Length - 3), target);
        for (int i = 0; i < 50; i++) await udp.SendAsync(new byte[] { 9 }, target); // a flood: rate limited

        // A sender over its budget this second is dropped: the good one comes from a fresh socket (another port, same IP),
        // so wait for the next one-second window before sending it.
        await Poll.UntilAsync(() => discovery.Dropped >= 10, PeerTestNetwork.Wait, "the drops to be counted");
        var announcement = new LanAnnouncement("p2pnet", friend.PeerId, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/3")]).Encode();
        var deadline = Stopwatch.StartNew();
        while (!good.Task.IsCompleted && deadline.Elapsed < PeerTestNetwork.Wait)
        {
            await udp.SendAsync(announcement, target);
            await Task.WhenAny(good.Task, Task.Delay(250));
        }
        var found = await good.Task.WaitAsync(PeerTestNetwork.Wait);
        Assert.Equal("/ip4/127.0.0.1/tcp/3", Assert.Single(found.Addresses).ToString());
        lock (seen) Assert.DoesNotContain(seen, p => p.PeerId == stranger.PeerId || p.PeerId == me.PeerId);
        Assert.True(discovery.IsRunning);
    }

    [NamespaceFact]
    public async Task Start_and_stop_work_at_any_time()
    {
        NetNs.AssertIsolated();
        int port = Interlocked.Increment(ref _port);
        using var a = Identity.Generate();
        using var b = Identity.Generate();
        await using var da = new LanBroadcastDiscovery(Options(port));
        await using var db = new LanBroadcastDiscovery(Options(port));
        await da.StopAsync(); // before start: nothing to do
        for (int round = 0; round < 2; round++)
        {
            var heard = PeerTestNetwork.Next<DiscoveredPeer>(h => db.PeerDiscovered += h, p => p.PeerId == a.PeerId);
            await da.StartAsync(a.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/5")]);
            await da.StartAsync(a.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/5")]); // twice: no-op
            await db.StartAsync(b.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/6")]);
            Assert.Equal(DiscoverySources.Broadcast, (await heard).Source);
            await da.StopAsync();
            await db.StopAsync();
            Assert.False(da.IsRunning);
        }
    }
}
