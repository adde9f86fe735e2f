using P2PNet.Core;
using P2PNet.Protocols.Identify;
using P2PNet.Protocols.Relay;
using P2PNet.Swarm;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Protocols.Relay;

/// <summary>Auto-relay on loopback: a private node reserves on a connected peer that serves hop, a public one releases it.</summary>
public sealed class AutoRelayTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_private_node_reserves_on_a_connected_hop_peer_only_and_releases_it_once_public()
    {
        var hosts = new List<SwarmHost>();
        try
        {
            async Task<(SwarmHost Host, Multiaddr Addr)> StartAsync()
            {
                var host = new SwarmHost(Identity.Generate());
                hosts.Add(host);
                _ = new IdentifyService(host);
                var addr = await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
                return (host, addr.WithPeerId(host.LocalPeerId));
            }
            var (relayHost, relayAddr) = await StartAsync();
            await using var relay = new RelayService(relayHost);
            var (plain, plainAddr) = await StartAsync();
            var (node, _) = await StartAsync();
            await using var client = new RelayClient(node);
            await using var auto = new AutoRelay(node, client);

            // Both peers connected and identified; only the relay lists hop.
            var identified = Events.Next<PeerStoreEntry>(h => node.PeerStore.PeerUpdated += h,
                e => e.PeerId == relayHost.LocalPeerId && e.Protocols.Contains(RelayProtocol.HopId), Timeout);
            await node.DialAsync(plainAddr).WaitAsync(Timeout);
            await node.DialAsync(relayAddr).WaitAsync(Timeout);
            await identified;
            Assert.Empty(auto.Relays); // reachability unknown: nothing yet

            var reserved = Events.Next<EventArgs>(h => auto.RelaysChanged += (s, e) => h(s, e), _ => auto.Relays.Count == 1, Timeout);
            auto.UpdateReachability(isPublic: false);
            await reserved;
            Assert.Equal(relayHost.LocalPeerId, Assert.Single(auto.Relays));
            Assert.True(relay.HasReservation(node.LocalPeerId));
            Assert.Contains(node.Addresses, a => a.IsCircuit && a.ToString().Contains(relayHost.LocalPeerId.ToString(), StringComparison.Ordinal));

            var released = Events.Next<EventArgs>(h => auto.RelaysChanged += (s, e) => h(s, e), _ => auto.Relays.Count == 0, Timeout);
            auto.UpdateReachability(isPublic: true);
            await released;
            Assert.DoesNotContain(node.Addresses, a => a.IsCircuit);
            Assert.Empty(client.KeptRelays);
        }
        finally
        {
            foreach (var host in hosts) await host.DisposeAsync();
        }
    }
}
