using System.Diagnostics;
using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Discovery.PeerExchange;
using P2PNet.Peers;
using P2PNet.Swarm;
using P2PNet.Tests.Peers;
using P2PNet.Tests.Support;
using Xunit.Abstractions;

namespace P2PNet.Tests.Discovery;

/// <summary>Peer exchange and auto-connect on loopback (no multicast: safe on any machine).</summary>
public sealed class PeerExchangeTests(ITestOutputHelper output)
{
    private static readonly PeerDiscoveryOptions Fast = new()
    {
        PeerExchangeInterval = TimeSpan.FromMilliseconds(300),
        YieldDelay = TimeSpan.FromMilliseconds(300),
        DialTimeout = TimeSpan.FromSeconds(3),
        AutoConnectInterval = TimeSpan.FromMilliseconds(100),
        DialBackoffBase = TimeSpan.FromMilliseconds(200),
        TargetPeerCount = 8,
    };

    private static async Task<PeerNetwork> NodeAsync(PeerDiscoveryOptions? discovery, CapturingLoggerProvider? log = null)
    {
        var network = await PeerTestNetwork.StartAsync(log: log);
        network.TrustPolicy.AllowEnhancedPacketExchange = true; // CollectionShare needs Enhanced on the receiver
        if (discovery is not null) network.StartPeerDiscovery(discovery);
        return network;
    }

    private static bool Connected(PeerNetwork a, PeerNetwork b) =>
        a.FindChannel(b.Identifier) is { State: PeerChannelState.Open } && b.FindChannel(a.Identifier) is { State: PeerChannelState.Open };

    [Fact]
    public async Task Chain_A_B_C_ends_with_A_connected_to_C()
    {
        await using var a = await NodeAsync(Fast);
        await using var b = await NodeAsync(Fast);
        await using var c = await NodeAsync(Fast);
        var discovered = PeerTestNetwork.Next<PeerDiscoveredEventArgs>(h => c.PeerDiscovered += h, e => e.Peer.Identifier == a.Identifier);

        await a.ConnectAsync(PeerTestNetwork.AddressOf(b));
        await c.ConnectAsync(PeerTestNetwork.AddressOf(b));

        var e = await discovered;
        Assert.Equal(DiscoverySources.Exchange, e.Source);
        await Poll.UntilAsync(() => Connected(a, c), PeerTestNetwork.Wait, "A and C to connect");
        Assert.DoesNotContain(a.KnownPeers, p => p.Identifier == a.Identifier);
    }

    [Fact]
    public async Task Auto_connect_reaches_the_target_count_and_stops_there()
    {
        var others = new List<PeerNetwork>();
        for (int i = 0; i < 5; i++) others.Add(await NodeAsync(null));
        await using var node = await NodeAsync(null);
        try
        {
            // The dialer's channel opens before the listening side registers its end: count those registrations
            // (PeerAdded on the listening sides) rather than look at the listening sides right away.
            int inbound = 0;
            var threeInbound = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            foreach (var other in others)
                other.PeerAdded += (_, c) => { if (c.Identifier == node.Identifier && Interlocked.Increment(ref inbound) == 3) threeInbound.TrySetResult(); };
            foreach (var other in others) Assert.NotNull(node.AddKnownPeer(other.Identifier, other.ListenAddresses, "test"));
            Assert.Null(node.AddKnownPeer(node.Identifier, node.ListenAddresses, "test")); // never ourselves
            node.StartPeerDiscovery(Fast with { TargetPeerCount = 3, PeerExchange = false });

            await Poll.UntilAsync(() => node.ActivePeerChannels.Count(c => c.State == PeerChannelState.Open) == 3, PeerTestNetwork.Wait, "three channels");
            await threeInbound.Task.WaitAsync(PeerTestNetwork.Wait);
            // Dials in flight plus open channels never exceed the target, so no fourth channel can appear.
            Assert.Equal(3, node.ActivePeerChannels.Count);
            Assert.Equal(3, others.Count(o => o.FindChannel(node.Identifier) is not null));
        }
        finally
        {
            foreach (var other in others) await other.DisposeAsync();
        }
    }

    [Fact]
    public async Task Auto_connect_never_dials_a_blocked_peer()
    {
        var log = new CapturingLoggerProvider();
        await using var blocked = await NodeAsync(null);
        await using var good = await NodeAsync(null);
        await using var node = await NodeAsync(null, log);
        node.AddKnownPeer(blocked.Identifier, blocked.ListenAddresses, "test");
        node.AddKnownPeer(good.Identifier, good.ListenAddresses, "test");
        node.BlockPeer(blocked.Identifier);

        node.StartPeerDiscovery(Fast with { TargetPeerCount = 2 });

        await Poll.UntilAsync(() => Connected(node, good), PeerTestNetwork.Wait, "the good peer");
        // Both were candidates of the same round (room for two): only the good one was dialed.
        Assert.DoesNotContain(log.Entries, e => e.Message.Contains($"dialing {blocked.Identifier}", StringComparison.Ordinal));
        Assert.Empty(blocked.ActivePeerChannels);
    }

    [Fact]
    public async Task An_address_claimed_by_another_peer_is_dropped_after_the_Noise_check()
    {
        var log = new CapturingLoggerProvider();
        await using var real = await NodeAsync(null);
        await using var node = await NodeAsync(null, log);
        using var impostor = Identity.Generate();
        // An announcement says "impostor listens at real's address": the handshake proves otherwise.
        node.AddKnownPeer(impostor.PeerId, real.ListenAddresses, DiscoverySources.Broadcast);

        node.StartPeerDiscovery(Fast with { TargetPeerCount = 1 });

        string line = await log.WaitForAsync(m => m.StartsWith("Dropped address", StringComparison.Ordinal), PeerTestNetwork.Wait);
        Assert.Contains(impostor.PeerId.ToString(), line, StringComparison.Ordinal);
        Assert.Null(node.FindChannel(impostor.PeerId));
        Assert.True(node.IsRunning);
    }

    [Fact]
    public async Task A_plain_libp2p_peer_that_refuses_the_channel_protocol_is_dialed_once_then_forgotten()
    {
        var log = new CapturingLoggerProvider();
        await using var node = await NodeAsync(null, log);
        // A libp2p node (Noise, yamux, ping, identify) without the P2PNet channel protocol, as mDNS may find.
        using var identity = Identity.Generate();
        await using var libp2p = new SwarmHost(identity);
        var address = await libp2p.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        Assert.NotNull(node.AddKnownPeer(identity.PeerId, [address], DiscoverySources.Mdns));

        node.StartPeerDiscovery(Fast with { TargetPeerCount = 1, DialBackoffBase = TimeSpan.FromMilliseconds(20) });

        string line = await log.WaitForAsync(m => m.StartsWith($"{identity.PeerId} is not a P2PNet peer", StringComparison.Ordinal), PeerTestNetwork.Wait);
        Assert.Contains("/p2pnet/channel/1.0.0", line, StringComparison.Ordinal);
        Assert.DoesNotContain(node.KnownPeers, p => p.Identifier == identity.PeerId);
        Assert.Null(node.AddKnownPeer(identity.PeerId, [address], DiscoverySources.Mdns)); // heard of again: ignored
        Assert.Single(log.Entries, e => e.Message.Contains($"dialing {identity.PeerId}", StringComparison.Ordinal));
        Assert.True(node.IsRunning);
    }

    [Fact]
    public async Task Shared_samples_are_bounded_and_never_contain_the_receiver_or_the_sender()
    {
        await using var a = await NodeAsync(null);
        await using var b = await NodeAsync(null);
        for (int i = 0; i < 40; i++)
        {
            using var id = Identity.Generate();
            a.AddKnownPeer(id.PeerId, [Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{10000 + i}")], "test");
        }
        var share = PeerTestNetwork.Next<PacketReceivedEventArgs>(h => b.DataReceived += h, e => e.Packet is P2PNet.Peers.Packets.CollectionSharePacket);
        a.StartPeerDiscovery(Fast with { MaxSharedPeers = 10, TargetPeerCount = 0 });

        await a.ConnectAsync(PeerTestNetwork.AddressOf(b));

        var packet = (P2PNet.Peers.Packets.CollectionSharePacket)(await share).Packet;
        Assert.Equal(10, packet.Peers.Count);
        Assert.DoesNotContain(packet.Peers, p => p.Identifier == b.Identifier.ToString() || p.Identifier == a.Identifier.ToString());
    }

    [Fact]
    public void Sampler_is_uniform_enough_and_bounded()
    {
        var counts = new int[20];
        var random = new Random(7);
        for (int round = 0; round < 2000; round++)
            foreach (int i in PeerExchangeSampler.Sample(Enumerable.Range(0, 20), 5, i => i != 3, random)) counts[i]++;
        Assert.Equal(0, counts[3]);
        // 2000 rounds × 5 of 19: about 526 each.
        Assert.All(counts.Where((_, i) => i != 3), c => Assert.InRange(c, 400, 650));
        Assert.Empty(PeerExchangeSampler.Sample(Enumerable.Range(0, 20), 0, _ => true, random));
    }

    [Fact]
    public async Task Ten_nodes_become_fully_connected_through_peer_exchange()
    {
        var options = Fast with { TargetPeerCount = 9 };
        var nodes = new List<PeerNetwork>();
        var log = new CapturingLoggerProvider();
        try
        {
            for (int i = 0; i < 10; i++) nodes.Add(await NodeAsync(options, log));
            var watch = Stopwatch.StartNew();
            // Each node knows only the previous one: a chain 0-1-…-9.
            for (int i = 1; i < 10; i++) await nodes[i].ConnectAsync(PeerTestNetwork.AddressOf(nodes[i - 1])).WaitAsync(PeerTestNetwork.Wait);
            output.WriteLine($"chain connected after {watch.ElapsedMilliseconds} ms");

            try
            {
                await Poll.UntilAsync(() => nodes.All(n => n.ActivePeerChannels.Count(c => c.State == PeerChannelState.Open) == 9),
                    TimeSpan.FromSeconds(30), "a full mesh of ten nodes");
            }
            catch (TimeoutException)
            {
                output.WriteLine("open channels per node: " + string.Join(' ', nodes.Select(n => n.ActivePeerChannels.Count(c => c.State == PeerChannelState.Open))));
                output.WriteLine("known peers per node: " + string.Join(' ', nodes.Select(n => n.KnownPeers.Count)));
                var missing = nodes.SelectMany(a => nodes.Where(b => a != b && a.FindChannel(b.Identifier) is not { State: PeerChannelState.Open })
                    .Select(b => (a.Identifier.ToString(), b.Identifier.ToString()))).ToList();
                foreach (var n in nodes)
                    output.WriteLine($"{n.Identifier.ToString()[^6..]}: active[{string.Join(",", n.ActivePeerChannels.Select(c => c.Identifier.ToString()[^6..] + c.State))}]");
                foreach (var (a, b) in missing) output.WriteLine($"missing {a[^6..]} -> {b[^6..]}: {nodes.First(n => n.Identifier.ToString() == a).FindChannel(PeerId.Parse(b))?.State}");
                foreach (var e in log.Entries.Where(e => missing.Any(m => e.Message.Contains(m.Item1, StringComparison.Ordinal) || e.Message.Contains(m.Item2, StringComparison.Ordinal)) && (e.Message.Contains("failed", StringComparison.Ordinal) || e.Message.Contains("Refused", StringComparison.Ordinal))).Take(30))
                    output.WriteLine(e.Category[^12..] + " " + e.Message);
                throw;
            }
            watch.Stop();
            Measure.Report(output, $"ten-node full connectivity through peer exchange: {watch.ElapsedMilliseconds} ms (exchange every {options.PeerExchangeInterval.TotalMilliseconds} ms)");
        }
        finally
        {
            var stopping = Stopwatch.StartNew();
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask())).WaitAsync(PeerTestNetwork.Wait);
            output.WriteLine($"stopped ten nodes in {stopping.ElapsedMilliseconds} ms");
        }
    }
}
