using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Discovery.Mdns;
using P2PNet.Peers;
using P2PNet.Tests.Peers;
using P2PNet.Tests.Support;
using Xunit.Abstractions;

namespace P2PNet.Tests.Discovery;

/// <summary>
/// mDNS discovery, only inside the private namespace (pinned to lo there as well). Each test has its own UDP
/// port so that tests of other classes running at the same time (the js-libp2p one uses 5353) are not heard.
/// </summary>
[Trait("Category", NetNs.Category)]
public sealed class MdnsDiscoveryTests(ITestOutputHelper output)
{
    private static int _port = 15353;

    private static MdnsOptions Options(int port) => new()
    {
        Port = port,
        Interface = "lo",
        QueryInterval = TimeSpan.FromMilliseconds(500),
    };

    [NamespaceFact]
    public async Task Three_nodes_find_and_connect_to_each_other_by_mdns_alone()
    {
        NetNs.AssertIsolated();
        int port = Interlocked.Increment(ref _port);
        // Only the start query and announcement of each node: nobody queries again.
        var (first, mesh) = await DiscoveryMesh.FormAsync(3, () => new MdnsDiscovery(Options(port) with { QueryInterval = TimeSpan.FromHours(1) }), DiscoverySources.Mdns);
        Measure.Report(output, $"mdns: first discovery {first} ms after start, full mesh of 3 after {mesh} ms");
    }

    [NamespaceFact]
    public async Task A_node_started_later_is_found_by_the_answer_to_its_query()
    {
        NetNs.AssertIsolated();
        int port = Interlocked.Increment(ref _port);
        using var a = Identity.Generate();
        using var b = Identity.Generate();
        // a neither queries again nor announces (Respond only answers): b can only learn of a by asking.
        await using var da = new MdnsDiscovery(Options(port) with { QueryInterval = TimeSpan.FromHours(1) });
        await using var db = new MdnsDiscovery(Options(port) with { QueryInterval = TimeSpan.FromHours(1), Respond = false });
        // Wait until a's start announcement is out, so that b hears a only through the answer to b's query.
        using (var listener = new UdpClient(AddressFamily.InterNetwork))
        {
            listener.Client.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Client.Bind(new IPEndPoint(IPAddress.Any, port));
            listener.JoinMulticastGroup(IPAddress.Parse("224.0.0.251"), IPAddress.Loopback);
            await da.StartAsync(a.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/7001")]);
            using var timeout = new CancellationTokenSource(PeerTestNetwork.Wait);
            while (DnsCodec.Decode((await listener.ReceiveAsync(timeout.Token)).Buffer) is not { IsResponse: true }) { }
        }
        var heard = PeerTestNetwork.Next<DiscoveredPeer>(h => db.PeerDiscovered += h, p => p.PeerId == a.PeerId);
        var watch = Stopwatch.StartNew();
        await db.StartAsync(b.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/7002")]);
        var found = await heard;
        Measure.Report(output, $"mdns: a query answered after {watch.ElapsedMilliseconds} ms");
        Assert.Equal(DiscoverySources.Mdns, found.Source);
        Assert.True(watch.ElapsedMilliseconds >= 20, "an answer to a multicast query waits 20-120 ms (RFC 6762 section 6)");
        Assert.Equal("/ip4/127.0.0.1/tcp/7001", Assert.Single(found.Addresses).ToString());
    }

    [NamespaceFact]
    public async Task Start_and_stop_work_at_any_time()
    {
        NetNs.AssertIsolated();
        int port = Interlocked.Increment(ref _port);
        using var a = Identity.Generate();
        using var b = Identity.Generate();
        await using var da = new MdnsDiscovery(Options(port));
        await using var db = new MdnsDiscovery(Options(port));
        await da.StopAsync();
        for (int round = 0; round < 2; round++)
        {
            var heard = PeerTestNetwork.Next<DiscoveredPeer>(h => db.PeerDiscovered += h, p => p.PeerId == a.PeerId);
            await da.StartAsync(a.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/5")]);
            await da.StartAsync(a.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/5")]); // twice: no-op
            await db.StartAsync(b.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/6")]);
            var found = await heard;
            Assert.Equal(DiscoverySources.Mdns, found.Source);
            Assert.Equal(IPAddress.Loopback, found.From?.Address); // sent from lo's address, not 0.0.0.0
            await da.StopAsync();
            await db.StopAsync();
            Assert.False(da.IsRunning);
        }
    }

    [NamespaceFact]
    public async Task A_legacy_unicast_query_gets_a_unicast_answer_with_its_id()
    {
        NetNs.AssertIsolated();
        int port = Interlocked.Increment(ref _port);
        using var a = Identity.Generate();
        await using var da = new MdnsDiscovery(Options(port) with { QueryInterval = TimeSpan.FromHours(1) });
        await da.StartAsync(a.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/7001")]);
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var query = MdnsRecords.Query("_p2p._udp.local");
        query.Id = 0x4242;
        await udp.SendAsync(DnsCodec.Encode(query), new IPEndPoint(IPAddress.Parse("224.0.0.251"), port));
        var reply = DnsCodec.Decode((await udp.ReceiveAsync(new CancellationTokenSource(PeerTestNetwork.Wait).Token)).Buffer);
        Assert.Equal(0x4242, reply.Id);
        Assert.True(reply.IsResponse);
        Assert.Single(reply.Questions);
        Assert.Equal(a.PeerId, Assert.Single(MdnsRecords.Peers(reply, "_p2p._udp.local", null, 16, 16, out _)).PeerId);
    }

    [NamespaceFact]
    public async Task Malformed_hostile_and_flooding_datagrams_leave_the_node_running()
    {
        NetNs.AssertIsolated();
        int port = Interlocked.Increment(ref _port);
        using var me = Identity.Generate();
        await using var discovery = new MdnsDiscovery(Options(port) with { QueryInterval = TimeSpan.FromHours(1), Respond = false });
        var seen = new List<DiscoveredPeer>();
        using var friend = Identity.Generate();
        var good = new TaskCompletionSource<DiscoveredPeer>(TaskCreationOptions.RunContinuationsAsynchronously);
        discovery.PeerDiscovered += (_, p) => { lock (seen) seen.Add(p); if (p.PeerId == friend.PeerId) good.TrySetResult(p); };
        await discovery.StartAsync(me.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/1")]);
        Assert.Equal("lo", Assert.Single(discovery.Interfaces).Name);

        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var group = new IPEndPoint(IPAddress.Parse("224.0.0.251"), port);
        byte[] loop = [0, 0, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 12, 0, 1]; // a question whose name points at itself
        var valid = DnsCodec.Encode(MdnsRecords.Response("_p2p._udp.local", "strangerstrangerstrangerstranger", friend.PeerId, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/2")], 120, 16));
        using var stranger = Identity.Generate();
        var badTxt = new DnsMessage { IsResponse = true };
        badTxt.Answers.Add(new DnsRecord("_p2p._udp.local", new DnsPtrData("x._p2p._udp.local"), 120));
        badTxt.Additionals.Add(new DnsRecord("x._p2p._udp.local", new DnsTxtData(["dnsaddr=/ip4/127.0.0.1/tcp/3"]), 120)); // no /p2p/
        byte[][] junk =
        [
            [1, 2, 3],
            loop,
            valid.AsSpan(0, valid.Length - 5).ToArray(),
            new byte[DnsCodec.MaxMessageSize + 100],
            DnsCodec.Encode(badTxt),
        ];
        foreach (var datagram in junk) await udp.SendAsync(datagram, group);
        await Poll.UntilAsync(() => discovery.Dropped >= junk.Length, PeerTestNetwork.Wait, "the malformed datagrams to be dropped");
        for (int i = 0; i < 100; i++) await udp.SendAsync(new byte[] { 7 }, group); // a flood: rate limited before decoding
        await Poll.UntilAsync(() => discovery.Dropped >= junk.Length + 100, PeerTestNetwork.Wait, "the flood to be dropped");

        // This sender is over its budget for this second: keep announcing until a new window lets one through.
        var deadline = Stopwatch.StartNew();
        while (!good.Task.IsCompleted && deadline.Elapsed < PeerTestNetwork.Wait)
        {
            await udp.SendAsync(valid, group);
            await Task.WhenAny(good.Task, Task.Delay(250));
        }
        var found = await good.Task.WaitAsync(PeerTestNetwork.Wait);
        Assert.Equal("/ip4/127.0.0.1/tcp/2", Assert.Single(found.Addresses).ToString());
        lock (seen) Assert.DoesNotContain(seen, p => p.PeerId != friend.PeerId);
        Assert.True(discovery.IsRunning);
    }

    [NamespaceFact]
    public async Task An_announcement_claiming_another_peers_address_fails_the_Noise_check_and_is_dropped()
    {
        NetNs.AssertIsolated();
        int port = Interlocked.Increment(ref _port);
        var log = new CapturingLoggerProvider();
        await using var real = await PeerTestNetwork.StartAsync();
        await using var node = await PeerTestNetwork.StartAsync(log: log);
        node.StartPeerDiscovery(new PeerDiscoveryOptions { PeerExchange = false, TargetPeerCount = 2, AutoConnectInterval = TimeSpan.FromMilliseconds(100), YieldDelay = TimeSpan.Zero });
        await node.AddDiscoveryAsync(new MdnsDiscovery(Options(port) with { QueryInterval = TimeSpan.FromHours(1) }));

        using var impostor = Identity.Generate();
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var forged = MdnsRecords.Response("_p2p._udp.local", "impostorimpostorimpostorimpostor", impostor.PeerId, real.ListenAddresses, 120, 16);
        await udp.SendAsync(DnsCodec.Encode(forged), new IPEndPoint(IPAddress.Parse("224.0.0.251"), port));

        string line = await log.WaitForAsync(m => m.StartsWith("Dropped address", StringComparison.Ordinal), PeerTestNetwork.Wait);
        Assert.Contains(impostor.PeerId.ToString(), line, StringComparison.Ordinal);
        Assert.Null(node.FindChannel(impostor.PeerId));
        Assert.True(node.IsRunning);
    }
}
