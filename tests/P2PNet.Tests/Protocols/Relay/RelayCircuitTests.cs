using System.Security.Cryptography;
using P2PNet.Core;
using P2PNet.Protocols.Ping;
using P2PNet.Protocols.Relay;
using P2PNet.Swarm;
using P2PNet.Tests.Support;
using P2PNet.Wire;

namespace P2PNet.Tests.Protocols.Relay;

/// <summary>Circuit relay v2 end to end over the in-memory transport: a relay, a peer that reserves, a peer that dials through.</summary>
public sealed class RelayCircuitTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private const string Echo = "/test/echo/1.0.0";

    private static Multiaddr Circuit(Multiaddr relay, PeerId target) => Multiaddr.Parse($"{relay}/p2p-circuit/p2p/{target}");

    private static void ServeEcho(SwarmHost host) =>
        host.SetStreamHandler(Echo, async (stream, _, ct) =>
        {
            await stream.CopyToAsync(stream, ct);
            await stream.CloseWriteAsync(ct);
        }, runOnLimitedConnection: true);

    private static async Task<byte[]> EchoAsync(Connection connection, byte[] payload)
    {
        var stream = await connection.OpenStreamAsync(Echo);
        await using (stream)
        {
            var reading = Task.Run(async () =>
            {
                var back = new MemoryStream();
                await stream.CopyToAsync(back);
                return back.ToArray();
            });
            await stream.WriteAsync(payload);
            await stream.FlushAsync();
            await stream.CloseWriteAsync();
            return await reading.WaitAsync(Timeout);
        }
    }

    private static T? Find<T>(Exception ex) where T : Exception
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
            if (e is T t) return t;
        return null;
    }

    [Fact]
    public async Task A_peer_reserves_and_another_reaches_it_through_the_relay_with_ping_and_an_echo_stream_on_a_limited_connection()
    {
        await using var hosts = new MemoryHosts();
        var (relayHost, relayAddr) = await hosts.StartAsync();
        await using var relay = new RelayService(relayHost);
        var (b, _) = await hosts.StartAsync();
        await using var clientB = new RelayClient(b);
        var (a, _) = await hosts.StartAsync();
        await using var clientA = new RelayClient(a);
        ServeEcho(b);
        b.SetStreamHandler("/test/direct-only/1.0.0", (_, _, _) => Task.CompletedTask);

        var reservation = await clientB.ReserveAsync(relayAddr).WaitAsync(Timeout);
        Assert.Equal(relayHost.LocalPeerId, reservation.RelayPeer);
        Assert.True(reservation.Expires > DateTimeOffset.UtcNow.AddMinutes(50));
        Assert.Equal(b.LocalPeerId, reservation.Voucher!.Peer);
        Assert.Equal(new RelayLimit(TimeSpan.FromMinutes(2), 128 * 1024), reservation.Limit);
        Assert.Contains(Multiaddr.Parse($"{relayAddr}/p2p-circuit"), b.Addresses);
        Assert.DoesNotContain(b.ListenAddresses, x => x.IsCircuit);
        Assert.True(relay.HasReservation(b.LocalPeerId));

        var connection = await a.DialAsync(Circuit(relayAddr, b.LocalPeerId)).WaitAsync(Timeout);
        Assert.Equal(b.LocalPeerId, connection.RemotePeerId);
        Assert.True(connection.Info.IsLimited);
        Assert.Equal(CircuitTransport.Name, connection.Info.Transport);
        await Poll.UntilAsync(() => b.Connections.Any(c => c.RemotePeerId == a.LocalPeerId && c.Info.IsLimited), Timeout, "b sees the relayed connection");

        var rtt = await new PingService(a).PingAsync(connection).WaitAsync(Timeout);
        Assert.True(rtt > TimeSpan.Zero);
        byte[] payload = RandomNumberGenerator.GetBytes(20_000);
        Assert.Equal(payload, await EchoAsync(connection, payload));
        Assert.Equal(1, relay.CircuitCount);

        // A handler that did not opt in is not offered on a limited connection.
        await Assert.ThrowsAnyAsync<Exception>(() => connection.OpenStreamAsync("/test/direct-only/1.0.0").WaitAsync(Timeout));

        await connection.CloseAsync();
        await Poll.UntilAsync(() => relay.CircuitCount == 0, Timeout, "the relay ends the circuit");
    }

    [Fact]
    public async Task Over_the_data_limit_the_relay_resets_the_circuit_and_both_ends_report_the_limit()
    {
        await using var hosts = new MemoryHosts();
        var (relayHost, relayAddr) = await hosts.StartAsync();
        await using var relay = new RelayService(relayHost, new RelayServiceOptions { MaxCircuitBytes = 16 * 1024, MaxCircuitDuration = TimeSpan.Zero });
        var (b, _) = await hosts.StartAsync();
        await using var clientB = new RelayClient(b);
        var (a, _) = await hosts.StartAsync();
        await using var clientA = new RelayClient(a);
        ServeEcho(b);
        await clientB.ReserveAsync(relayAddr).WaitAsync(Timeout);
        var closedA = Events.Next<CircuitClosedEventArgs>(h => clientA.CircuitClosed += h, null, Timeout);
        var closedB = Events.Next<CircuitClosedEventArgs>(h => clientB.CircuitClosed += h, null, Timeout);

        var connection = await a.DialAsync(Circuit(relayAddr, b.LocalPeerId)).WaitAsync(Timeout);
        Assert.Equal(new RelayLimit(null, 16 * 1024), Assert.Single(clientB.Reservations).Limit);
        await Assert.ThrowsAnyAsync<Exception>(() => EchoAsync(connection, new byte[64 * 1024]));

        var (atA, atB) = (await closedA, await closedB);
        Assert.Equal(RelayError.LimitReached, atA.Error?.Error);
        Assert.Equal(RelayError.LimitReached, atB.Error?.Error);
        Assert.Equal(b.LocalPeerId, atA.Remote);
        Assert.Equal(a.LocalPeerId, atB.Remote);
        Assert.Contains("data limit of 16384 bytes", atA.Error!.Message, StringComparison.Ordinal);
        await connection.Completion.WaitAsync(Timeout);
        await Poll.UntilAsync(() => relay.CircuitCount == 0, Timeout, "the relay forgets the circuit");
    }

    [Fact]
    public async Task Over_the_duration_limit_the_relay_resets_the_circuit_and_both_ends_report_the_limit()
    {
        await using var hosts = new MemoryHosts();
        var (relayHost, relayAddr) = await hosts.StartAsync();
        await using var relay = new RelayService(relayHost, new RelayServiceOptions { MaxCircuitDuration = TimeSpan.FromSeconds(1), MaxCircuitBytes = 0 });
        var (b, _) = await hosts.StartAsync();
        await using var clientB = new RelayClient(b);
        var (a, _) = await hosts.StartAsync();
        await using var clientA = new RelayClient(a);
        await clientB.ReserveAsync(relayAddr).WaitAsync(Timeout);
        var closedA = Events.Next<CircuitClosedEventArgs>(h => clientA.CircuitClosed += h, null, Timeout);
        var closedB = Events.Next<CircuitClosedEventArgs>(h => clientB.CircuitClosed += h, null, Timeout);

        var connection = await a.DialAsync(Circuit(relayAddr, b.LocalPeerId)).WaitAsync(Timeout);
        await new PingService(a).PingAsync(connection).WaitAsync(Timeout);

        var (atA, atB) = (await closedA, await closedB);
        Assert.Equal(RelayError.LimitReached, atA.Error?.Error);
        Assert.Equal(RelayError.LimitReached, atB.Error?.Error);
        Assert.Contains("time limit of 1 s", atB.Error!.Message, StringComparison.Ordinal);
        await connection.Completion.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Dialing_a_peer_without_a_reservation_fails_with_no_reservation_and_the_relay_keeps_serving()
    {
        await using var hosts = new MemoryHosts();
        var (relayHost, relayAddr) = await hosts.StartAsync();
        await using var relay = new RelayService(relayHost);
        var (c, addrC) = await hosts.StartAsync();
        await relayHost.DialAsync(addrC).WaitAsync(Timeout); // connected to the relay, but never reserved
        var (a, _) = await hosts.StartAsync();
        await using var clientA = new RelayClient(a);

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => a.DialAsync(Circuit(relayAddr, c.LocalPeerId)).WaitAsync(Timeout));
        var relayError = Find<RelayException>(ex);
        Assert.NotNull(relayError);
        Assert.Equal(RelayError.Refused, relayError.Error);
        Assert.Equal(RelayStatus.NoReservation, relayError.Status);
        Assert.Contains("NoReservation", ex.Message + relayError.Message, StringComparison.Ordinal);

        // A bad address fails clearly too, and the relay still grants reservations.
        var (b, _) = await hosts.StartAsync();
        await using var clientB = new RelayClient(b);
        await clientB.ReserveAsync(relayAddr).WaitAsync(Timeout);
        Assert.True(relay.HasReservation(b.LocalPeerId));
    }

    [Fact]
    public async Task Forged_and_oversized_hop_requests_get_a_status_and_the_relay_keeps_serving()
    {
        await using var hosts = new MemoryHosts();
        var (relayHost, relayAddr) = await hosts.StartAsync();
        await using var relay = new RelayService(relayHost);
        var (a, _) = await hosts.StartAsync();
        var connection = await a.DialAsync(relayAddr).WaitAsync(Timeout);

        async Task<RelayStatus?> SendRawAsync(byte[] bytes)
        {
            var stream = await connection.OpenStreamAsync(RelayProtocol.HopId);
            await using (stream)
            {
                await stream.WriteAsync(bytes);
                await stream.FlushAsync();
                var answer = await RelayProtocol.ReadHopAsync(stream, Timeout, CancellationToken.None);
                return answer.Status;
            }
        }

        byte[] oversized = new byte[3 + 5000];
        int n = Varint.Write(oversized, 5000);
        Assert.Equal(RelayStatus.MalformedMessage, await SendRawAsync(oversized[..(n + 5000)]).WaitAsync(Timeout));
        Assert.Equal(RelayStatus.MalformedMessage, await SendRawAsync([0x03, 0xFF, 0xFF, 0xFF]).WaitAsync(Timeout));
        Assert.Equal(RelayStatus.UnexpectedMessage, await SendRawAsync([0x02, 0x08, 0x02]).WaitAsync(Timeout)); // a STATUS as a request
        Assert.Equal(RelayStatus.MalformedMessage, await SendRawAsync([0x02, 0x08, 0x01]).WaitAsync(Timeout)); // CONNECT without a peer

        var (b, _) = await hosts.StartAsync();
        await using var clientB = new RelayClient(b);
        await clientB.ReserveAsync(relayAddr).WaitAsync(Timeout);
        Assert.True(connection.IsOpen);
    }

    [Fact]
    public async Task Reservation_requests_over_the_rate_limit_are_refused()
    {
        await using var hosts = new MemoryHosts();
        var (relayHost, relayAddr) = await hosts.StartAsync();
        await using var relay = new RelayService(relayHost, new RelayServiceOptions { MaxReservationRequestsPerMinutePerIp = 2 });
        var (b, _) = await hosts.StartAsync();
        await using var clientB = new RelayClient(b);
        var first = await clientB.ReserveAsync(relayAddr).WaitAsync(Timeout);
        var refreshed = await clientB.ReserveAsync(relayAddr).WaitAsync(Timeout);
        Assert.True(refreshed.Expires >= first.Expires);
        var ex = await Assert.ThrowsAsync<RelayException>(() => clientB.ReserveAsync(relayAddr).WaitAsync(Timeout));
        Assert.Equal(RelayStatus.ResourceLimitExceeded, ex.Status);
        Assert.Equal(1, relay.ReservationCount);
    }

    [Fact]
    public async Task A_kept_reservation_is_renewed_after_the_relay_connection_drops()
    {
        await using var hosts = new MemoryHosts();
        var (relayHost, relayAddr) = await hosts.StartAsync();
        await using var relay = new RelayService(relayHost);
        var (b, _) = await hosts.StartAsync();
        await using var clientB = new RelayClient(b, new RelayClientOptions { RetryDelay = TimeSpan.FromMilliseconds(200) });
        await clientB.AddRelayAsync(relayAddr).WaitAsync(Timeout);
        Assert.True(relay.HasReservation(b.LocalPeerId));

        // Checked inside the event: the renewal starts at once and may have announced the address again by the time we look.
        var lost = Events.Next<EventArgs>(h => clientB.ReservationsChanged += (s, e) => h(s, e),
            _ => clientB.Reservations.Count == 0 && !b.Addresses.Any(x => x.IsCircuit), Timeout);
        await b.FindConnection(relayHost.LocalPeerId)!.CloseAsync();
        await lost;
        await Poll.UntilAsync(() => clientB.Reservations.Count == 1 && relay.HasReservation(b.LocalPeerId), Timeout, "the reservation is renewed");
        Assert.Contains(b.Addresses, x => x.IsCircuit);
    }
}
