using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Protocols.Ping;
using P2PNet.Protocols.Relay;
using P2PNet.Swarm;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Interop;

/// <summary>Circuit relay v2 against js-libp2p (@libp2p/circuit-relay-v2, interop/js/relay.mjs), in both roles.</summary>
[Collection(nameof(InteropCollection))]
public sealed class JsRelayTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static async Task<(SwarmHost Host, Multiaddr Addr)> StartHostAsync(List<SwarmHost> hosts)
    {
        var host = new SwarmHost(Identity.Generate());
        hosts.Add(host);
        _ = new PingService(host);
        var addr = await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        return (host, addr.WithPeerId(host.LocalPeerId));
    }

    [Fact]
    public async Task Two_P2PNet_nodes_meet_through_a_js_relay_and_ping_over_the_circuit()
    {
        await using var js = LineProcess.StartJsScript("relay.mjs", "relay");
        var relayId = PeerId.Parse((await js.ExpectAsync("PEERID ", Timeout))["PEERID ".Length..]);
        var relayAddr = Multiaddr.Parse((await js.ExpectAsync("ADDR ", Timeout))["ADDR ".Length..]);
        var hosts = new List<SwarmHost>();
        try
        {
            var (b, _) = await StartHostAsync(hosts);
            await using var clientB = new RelayClient(b);
            var (a, _) = await StartHostAsync(hosts);
            await using var clientA = new RelayClient(a);

            var reservation = await clientB.ReserveAsync(relayAddr).WaitAsync(Timeout);
            Assert.Equal(relayId, reservation.RelayPeer);
            Assert.NotNull(reservation.Voucher); // js's signed envelope verified with our code
            Assert.Equal(b.LocalPeerId, reservation.Voucher.Peer);
            Assert.NotNull(reservation.Limit);

            var connection = await a.DialAsync(Multiaddr.Parse($"{relayAddr}/p2p-circuit/p2p/{b.LocalPeerId}")).WaitAsync(Timeout);
            Assert.Equal(b.LocalPeerId, connection.RemotePeerId);
            Assert.True(connection.Info.IsLimited);
            var ping = new PingService(a);
            for (int i = 0; i < 3; i++) Assert.True(await ping.PingAsync(connection).WaitAsync(Timeout) > TimeSpan.Zero);
        }
        finally
        {
            foreach (var host in hosts) await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task Two_P2PNet_networks_meet_through_a_js_relay_and_exchange_PeerChannel_messages_over_the_circuit()
    {
        await using var js = LineProcess.StartJsScript("relay.mjs", "relay");
        await js.ExpectAsync("PEERID ", Timeout);
        var relayAddr = Multiaddr.Parse((await js.ExpectAsync("ADDR ", Timeout))["ADDR ".Length..]);
        // Channels run on the relayed (limited) connection: the application allows it.
        var options = new PeerNetworkOptions { ListenAddresses = [], AllowLimitedConnections = true };
        await using var a = new PeerNetwork(options);
        await using var b = new PeerNetwork(options);
        await a.StartAsync();
        await b.StartAsync();
        await using var clientA = new RelayClient(a.Host);
        await using var clientB = new RelayClient(b.Host);
        await clientB.ReserveAsync(relayAddr).WaitAsync(Timeout);

        var added = Events.Next<PeerChannel>(h => b.PeerAdded += h, null, Timeout);
        var channel = await a.ConnectAsync(Multiaddr.Parse($"{relayAddr}/p2p-circuit/p2p/{b.Identifier}")).WaitAsync(Timeout);
        Assert.True(channel.Connection!.Info.IsLimited);
        var inbound = await added;
        var toB = Events.Next<PureMessageReceivedEventArgs>(h => b.MessageReceived += h, m => m.Message == "hello through js", Timeout);
        await channel.SendAndWaitAsync(new PureMessagePacket("hello through js")).WaitAsync(Timeout);
        Assert.Equal(a.Identifier, (await toB).Sender);
        var toA = Events.Next<PureMessageReceivedEventArgs>(h => a.MessageReceived += h, m => m.Message == "and back", Timeout);
        await inbound.SendAsync(new PureMessagePacket("and back")).AsTask().WaitAsync(Timeout);
        Assert.Equal(b.Identifier, (await toA).Sender);
    }

    [Fact]
    public async Task A_js_node_reserves_on_our_relay_and_another_js_node_dials_it_through_us()
    {
        var hosts = new List<SwarmHost>();
        try
        {
            var (relayHost, relayAddr) = await StartHostAsync(hosts);
            await using var relay = new RelayService(relayHost);

            await using var target = LineProcess.StartJsScript("relay.mjs", "reserve", relayAddr.ToString());
            var targetId = PeerId.Parse((await target.ExpectAsync("PEERID ", Timeout))["PEERID ".Length..]);
            string circuit = (await target.ExpectAsync("CIRCUIT ", Timeout))["CIRCUIT ".Length..];
            Assert.Equal($"{relayAddr}/p2p-circuit/p2p/{targetId}", circuit);
            Assert.True(relay.HasReservation(targetId));

            await using var dialer = LineProcess.StartJsScript("relay.mjs", "dial", circuit, "--pings", "3");
            Assert.Equal($"CONNECTED {targetId} limited", await dialer.ExpectAsync("CONNECTED ", Timeout));
            for (int i = 0; i < 3; i++) await dialer.ExpectAsync("PING_OK ", Timeout);
            await dialer.ExpectAsync("DONE", Timeout);
            Assert.Equal(0, await dialer.WaitForExitAsync(Timeout));
        }
        finally
        {
            foreach (var host in hosts) await host.DisposeAsync();
        }
    }
}
