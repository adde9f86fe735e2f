using P2PNet.Core;
using P2PNet.Protocols.Ping;
using P2PNet.Protocols.Relay;
using P2PNet.Swarm;

namespace P2PNet.Tests.Protocols.Relay;

/// <summary>Circuit relay v2 over loopback TCP: a circuit with ping, and the per-IP reservation cap.</summary>
public sealed class RelayTcpTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static async Task<(SwarmHost Host, Multiaddr Addr)> StartAsync(List<SwarmHost> hosts)
    {
        var host = new SwarmHost(Identity.Generate());
        hosts.Add(host);
        _ = new PingService(host);
        var addr = await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        return (host, addr.WithPeerId(host.LocalPeerId));
    }

    [Fact]
    public async Task Two_peers_meet_through_a_TCP_relay_and_ping_over_the_circuit_and_one_IP_holds_at_most_its_cap()
    {
        var hosts = new List<SwarmHost>();
        try
        {
            var (relayHost, relayAddr) = await StartAsync(hosts);
            await using var relay = new RelayService(relayHost, new RelayServiceOptions { MaxReservationsPerIp = 2 });
            var (b, _) = await StartAsync(hosts);
            await using var clientB = new RelayClient(b);
            var (a, _) = await StartAsync(hosts);
            await using var clientA = new RelayClient(a);

            var reservation = await clientB.ReserveAsync(relayAddr).WaitAsync(Timeout);
            Assert.Contains(reservation.RelayAddresses, x => x.Equals(relayAddr));
            var connection = await a.DialAsync(Multiaddr.Parse($"{relayAddr}/p2p-circuit/p2p/{b.LocalPeerId}")).WaitAsync(Timeout);
            Assert.True(connection.Info.IsLimited);
            Assert.Equal(b.LocalPeerId, connection.RemotePeerId);
            await new PingService(a).PingAsync(connection).WaitAsync(Timeout);
            // Dialing b by PeerId now finds the relayed connection (b's circuit address is in a's peer store).
            Assert.Same(connection, await a.DialAsync(b.LocalPeerId).WaitAsync(Timeout));

            // 127.0.0.1 holds b's reservation; one more fits, the third is refused.
            var (c, _) = await StartAsync(hosts);
            await using var clientC = new RelayClient(c);
            await clientC.ReserveAsync(relayAddr).WaitAsync(Timeout);
            var (d, _) = await StartAsync(hosts);
            await using var clientD = new RelayClient(d);
            var ex = await Assert.ThrowsAsync<RelayException>(() => clientD.ReserveAsync(relayAddr).WaitAsync(Timeout));
            Assert.Equal(RelayStatus.ResourceLimitExceeded, ex.Status);
            Assert.Equal(2, relay.ReservationCount);
            // A refresh by a holder is not a new reservation.
            await clientB.ReserveAsync(relayAddr).WaitAsync(Timeout);
        }
        finally
        {
            foreach (var host in hosts) await host.DisposeAsync();
        }
    }
}
