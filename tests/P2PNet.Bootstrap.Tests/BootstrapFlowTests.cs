using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Bootstrap.Tests;

/// <summary>Nodes bootstrap from a real server and connect; TTL expiry; a restart keeps the data.</summary>
public sealed class BootstrapFlowTests
{
    [Fact]
    public async Task Three_nodes_bootstrap_from_the_server_and_connect_to_each_other()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path);
        var networks = new List<PeerNetwork>();
        var channels = new List<BootstrapChannel>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                var network = await TestServer.NetworkAsync();
                networks.Add(network);
                var channel = TestServer.Channel(network, server);
                channels.Add(channel);
                await channel.ConnectAsync().WaitAsync(TestServer.Wait);
                Assert.Equal(BootstrapMode.Trustless, channel.ServerMode);
            }
            foreach (var network in networks)
                await TestServer.UntilAsync(() => network.ActivePeerChannels.Count == 2, $"{network.Identifier} to have 2 channels");
            foreach (var network in networks)
            {
                var others = networks.Where(n => n != network).Select(n => n.Identifier).ToHashSet();
                Assert.True(others.SetEquals(network.ActivePeerChannels.Select(c => c.Identifier)));
                Assert.True(others.IsSubsetOf(network.KnownPeers.Select(p => p.Identifier)));
            }
            Assert.Equal(3, await server.Store.CountAsync(server.Cutoff));
        }
        finally
        {
            foreach (var channel in channels) await channel.DisposeAsync();
            foreach (var network in networks) await network.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_peer_without_heartbeat_expires_after_the_ttl_and_is_never_served_to_itself()
    {
        using var folder = new TempFolder();
        var time = new ManualTime();
        await using var server = await TestServer.StartAsync(folder.Path, o => { o.PeerTtl = TimeSpan.FromSeconds(10); o.FreshnessWindow = TimeSpan.FromSeconds(5); }, time);
        using var http = new HttpClient();
        using var a = Identity.Generate();
        using var b = Identity.Generate();
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.True((await TestServer.PostAsync(http, server, TestServer.Registration(a, timestamp: now))).IsSuccessStatusCode);
        Assert.True((await TestServer.PostAsync(http, server, TestServer.Registration(b, timestamp: now))).IsSuccessStatusCode);

        var seenByB = await TestServer.PeersAsync(http, server, peerId: b.PeerId.ToString());
        Assert.Equal([a.PeerId.ToString()], seenByB.Peers.Select(p => p.PeerId));
        Assert.Equal(b.PeerId.ToString(), seenByB.Requester);

        time.Advance(TimeSpan.FromSeconds(6));
        // b heartbeats, a does not.
        Assert.True((await TestServer.PostAsync(http, server, TestServer.Registration(b, timestamp: time.GetUtcNow().ToUnixTimeMilliseconds()))).IsSuccessStatusCode);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty((await TestServer.PeersAsync(http, server, peerId: b.PeerId.ToString())).Peers);
        Assert.Equal([b.PeerId.ToString()], (await TestServer.PeersAsync(http, server)).Peers.Select(p => p.PeerId));
        Assert.Equal(1, await server.ExpireNowAsync());
        Assert.Equal(1, await server.Store.CountAsync(0));
    }

    [Fact]
    public async Task The_periodic_heartbeat_keeps_a_peer_listed_past_the_ttl()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path, o => { o.PeerTtl = TimeSpan.FromSeconds(1); o.FreshnessWindow = TimeSpan.FromMilliseconds(900); });
        await using var network = await TestServer.NetworkAsync();
        await using var channel = new BootstrapChannel(network, new BootstrapChannelOptions
        {
            ServerUrl = server.Url(),
            HeartbeatInterval = TimeSpan.FromMilliseconds(150),
        });
        await channel.ConnectAsync();
        var registeredAt = DateTime.UtcNow;
        // Twelve heartbeats take ~1.8 s, well past the 1 s TTL: only the heartbeats keep the peer alive.
        await TestServer.UntilAsync(() => channel.Heartbeats >= 12, "twelve heartbeats");
        Assert.True(DateTime.UtcNow - registeredAt > TimeSpan.FromSeconds(1.2));
        using var http = new HttpClient();
        Assert.Equal([network.Identifier.ToString()], (await TestServer.PeersAsync(http, server)).Peers.Select(p => p.PeerId));

        // Without them it expires.
        await channel.DisposeAsync();
        await TestServer.UntilAsync(async () => (await TestServer.PeersAsync(http, server)).Peers.Count == 0, "expiry after the heartbeats stop");
    }

    [Fact]
    public async Task A_restart_keeps_peers_blocks_admin_log_authority_and_replay_state()
    {
        using var folder = new TempFolder();
        using var http = new HttpClient();
        using var a = Identity.Generate();
        using var blocked = Identity.Generate();
        var registration = TestServer.Registration(a);
        PeerId authority;
        await using (var server = await TestServer.StartAsync(folder.Path, o => o.Mode = BootstrapMode.Authority))
        {
            authority = server.AuthorityId!;
            Assert.True((await TestServer.PostAsync(http, server, registration)).IsSuccessStatusCode);
            await server.Store.BlockAsync(blocked.PeerId.ToString(), server.Now);
            await server.Store.LogAdminAsync("block", blocked.PeerId.ToString(), "127.0.0.1", server.Now);
        }
        Assert.True(File.Exists(Path.Combine(folder.Path, "bootstrap.db")));
        await using (var server = await TestServer.StartAsync(folder.Path, o => o.Mode = BootstrapMode.Authority))
        {
            Assert.Equal(authority, server.AuthorityId);
            var answer = await TestServer.PeersAsync(http, server);
            Assert.Equal([a.PeerId.ToString()], answer.Peers.Select(p => p.PeerId));
            Assert.Contains(answer.Tasks, t => t.Kind == BootstrapNetworkTask.BlockIdentifier && t.Target == blocked.PeerId.ToString());
            Assert.Contains(await server.Store.ReadAdminLogAsync(10), e => e.Action == "block");
            using var replay = await TestServer.PostAsync(http, server, registration);
            Assert.Equal(System.Net.HttpStatusCode.Conflict, replay.StatusCode);
            Assert.Equal("replayed", await TestServer.ErrorCodeAsync(replay));
        }
    }
}
