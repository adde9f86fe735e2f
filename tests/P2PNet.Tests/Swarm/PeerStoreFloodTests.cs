using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Protocols.Identify;
using P2PNet.Swarm;
using P2PNet.Tests.Support;
using P2PNet.Transports.Memory;

namespace P2PNet.Tests.Swarm;

/// <summary>
/// Throwaway identities dialing in, or named by hearsay, never push real peers out of the bounded peer store, and a
/// peer refused at its hello or by the application does not stay in it. Over the in-memory transport.
/// </summary>
public sealed class PeerStoreFloodTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Throwaway_identities_dialing_in_never_evict_real_peers_and_leave_no_entry()
    {
        const int capacity = 8;
        await using var hosts = new MemoryHosts();
        var (server, serverAddr) = await hosts.StartAsync(new SwarmOptions { PeerStore = new PeerStoreOptions { Capacity = capacity } });
        await using var serverIdentify = new IdentifyService(server);
        int most = 0;
        server.PeerStore.PeerAdded += (_, _) => Interlocked.Exchange(ref most, Math.Max(Volatile.Read(ref most), server.PeerStore.Count));

        // Three real peers we dialed (then disconnected from) and three heard of: the store holds six.
        var real = new List<PeerId>();
        for (int i = 0; i < 3; i++)
        {
            var (peer, addr) = await hosts.StartAsync();
            var connection = await server.DialAsync(addr).WaitAsync(Wait);
            await connection.CloseAsync();
            real.Add(peer.LocalPeerId);
        }
        await Poll.UntilAsync(() => real.TrueForAll(p => !server.PeerStore.IsConnected(p)), Wait, "the real peers disconnected");
        var hearsay = Enumerable.Range(0, 3).Select(_ => NewPeerId()).ToList();
        foreach (var id in hearsay) Assert.True(server.PeerStore.AddAddress(id, Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001"), AddressSource.Exchange));

        // Forty throwaway identities dial in, eight at a time, run identify (which writes the store) and leave.
        for (int wave = 0; wave < 5; wave++)
        {
            var flood = new List<(SwarmHost Host, IdentifyService Identify)>();
            for (int i = 0; i < 8; i++)
            {
                var (attacker, _) = await hosts.StartAsync();
                flood.Add((attacker, new IdentifyService(attacker)));
            }
            var identified = flood.Select(f => Events.Next<PeerIdentifiedEventArgs>(h => f.Identify.PeerIdentified += h, e => e.Connection.RemotePeerId == server.LocalPeerId, Wait)).ToList();
            var connections = await Task.WhenAll(flood.Select(f => f.Host.DialAsync(serverAddr))).WaitAsync(Wait);
            await Task.WhenAll(identified);
            Assert.InRange(server.PeerStore.Count, 6, capacity);
            foreach (var c in connections) await c.CloseAsync();
            foreach (var f in flood) await f.Identify.DisposeAsync();
            await Poll.UntilAsync(() => flood.TrueForAll(f => !server.PeerStore.IsConnected(f.Host.LocalPeerId)), Wait, "the flood disconnected");
            Assert.All(flood, f => Assert.False(server.PeerStore.Contains(f.Host.LocalPeerId))); // no entry outlives its connection
        }

        Assert.All(real, p => Assert.True(server.PeerStore.Contains(p)));
        Assert.All(hearsay, p => Assert.True(server.PeerStore.Contains(p)));
        Assert.InRange(Volatile.Read(ref most), 1, capacity);
        Assert.Equal(6, server.PeerStore.Count);
    }

    [Fact]
    public async Task A_flood_of_hearsay_evicts_hearsay_before_peers_we_connected_to()
    {
        const int capacity = 6;
        await using var hosts = new MemoryHosts();
        var (server, _) = await hosts.StartAsync(new SwarmOptions { PeerStore = new PeerStoreOptions { Capacity = capacity } });
        var real = new List<PeerId>();
        for (int i = 0; i < 3; i++)
        {
            var (peer, addr) = await hosts.StartAsync();
            await (await server.DialAsync(addr).WaitAsync(Wait)).CloseAsync();
            real.Add(peer.LocalPeerId);
        }
        await Poll.UntilAsync(() => real.TrueForAll(p => !server.PeerStore.IsConnected(p)), Wait, "the real peers disconnected");

        // Hundreds of peers named by peer exchange cycle through the other three places.
        for (int i = 0; i < 300; i++) Assert.True(server.PeerStore.AddAddress(NewPeerId(), Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001"), AddressSource.Exchange));

        Assert.Equal(capacity, server.PeerStore.Count);
        Assert.All(real, p => Assert.True(server.PeerStore.Contains(p)));
    }

    [Fact]
    public async Task Peers_refused_at_their_hello_or_by_the_application_leave_no_trace_and_known_peers_survive()
    {
        var hub = new MemoryTransportHub();
        var networks = new List<PeerNetwork>();
        async Task<PeerNetwork> StartAsync(string name = "p2pnet", int maxKnown = 1000)
        {
            var network = new PeerNetwork(new PeerNetworkOptions
            {
                NetworkName = name,
                MaxKnownPeers = maxKnown,
                ListenAddresses = [Multiaddr.Parse("/memory/0")],
                Swarm = new SwarmOptions { Transports = [new MemoryTransport(hub)] },
            });
            networks.Add(network);
            await network.StartAsync();
            return network;
        }
        try
        {
            var node = await StartAsync(maxKnown: 4);
            var address = node.ListenAddresses[0].WithPeerId(node.Identifier);
            bool rejecting = false;
            node.IncomingPeerConnectionAttempt += (_, e) =>
            {
                if (Volatile.Read(ref rejecting)) e.Reject("not on the list");
            };

            // Two real peers open channels and close them: they stay known, and in the host's store.
            var real = new List<PeerId>();
            for (int i = 0; i < 2; i++)
            {
                var peer = await StartAsync();
                var channel = await peer.ConnectAsync(address).WaitAsync(Wait);
                await channel.ClosePeerChannelAsync("done").WaitAsync(Wait);
                real.Add(peer.Identifier);
            }
            Assert.All(real, p => Assert.Contains(p, node.KnownPeers.Select(k => k.Identifier)));

            // Throwaway peers: of another network (refused at their hello), then rejected by the application.
            var throwaway = new List<PeerId>();
            for (int i = 0; i < 6; i++)
            {
                var stranger = await StartAsync(name: "other");
                await Assert.ThrowsAsync<PeerNetworkException>(() => stranger.ConnectAsync(address).WaitAsync(Wait));
                throwaway.Add(stranger.Identifier);
            }
            Volatile.Write(ref rejecting, true);
            for (int i = 0; i < 6; i++)
            {
                var stranger = await StartAsync();
                var ex = await Assert.ThrowsAsync<PeerNetworkException>(() => stranger.ConnectAsync(address).WaitAsync(Wait));
                Assert.Equal(PeerNetworkError.Rejected, ex.Error);
                throwaway.Add(stranger.Identifier);
            }

            await Poll.UntilAsync(() => throwaway.TrueForAll(p => !node.Host.PeerStore.IsConnected(p)), Wait, "the strangers disconnected");
            Assert.All(throwaway, p => Assert.DoesNotContain(p, node.KnownPeers.Select(k => k.Identifier)));
            Assert.All(throwaway, p => Assert.False(node.Host.PeerStore.Contains(p)));
            Assert.All(real, p => Assert.Contains(p, node.KnownPeers.Select(k => k.Identifier)));
            Assert.All(real, p => Assert.True(node.Host.PeerStore.Contains(p)));
            Assert.Equal(node.KnownPeers.Count, node.Host.PeerStore.Snapshot().Count(e => node.KnownPeers.Any(k => k.Identifier == e.PeerId)));
        }
        finally
        {
            foreach (var network in networks) await network.DisposeAsync();
        }
    }

    private static PeerId NewPeerId()
    {
        using var identity = Identity.Generate();
        return identity.PeerId;
    }
}
