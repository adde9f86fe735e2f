using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Protocols.Ping;
using P2PNet.Security.Noise;
using P2PNet.Swarm;
using P2PNet.Tests.Support;
using P2PNet.Upgrade;

namespace P2PNet.Tests.Swarm;

/// <summary>Two or more hosts on loopback: dialing, streams, and hostile peers that must not hurt the host.</summary>
public sealed class SwarmHostTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private static async Task<(SwarmHost Host, Identity Id, Multiaddr Addr)> StartAsync(SwarmOptions? options = null, string ip = "127.0.0.1")
    {
        var id = Identity.Generate();
        var host = new SwarmHost(id, options);
        _ = new PingService(host);
        var family = ip.Contains(':', StringComparison.Ordinal) ? "ip6" : "ip4";
        var addr = await host.ListenAsync(Multiaddr.Parse($"/{family}/{ip}/tcp/0"));
        return (host, id, addr.WithPeerId(id.PeerId));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task Hosts_connect_over_ipv4_and_ipv6_and_ping(string ip)
    {
        var (server, serverId, addr) = await StartAsync(ip: ip);
        await using var _ = server;
        using var clientId = Identity.Generate();
        await using var client = new SwarmHost(clientId);
        var ping = new PingService(client);
        var accepted = Events.Next<Connection>(h => server.ConnectionOpened += h, null, Timeout);

        var connection = await client.DialAsync(addr).WaitAsync(Timeout);
        Assert.Equal(serverId.PeerId, connection.RemotePeerId);
        Assert.Equal(ConnectionDirection.Outbound, connection.Direction);
        var inbound = await accepted;
        Assert.Equal(clientId.PeerId, inbound.RemotePeerId);
        Assert.Equal(ConnectionDirection.Inbound, inbound.Direction);
        Assert.True((await ping.PingAsync(connection).WaitAsync(Timeout)) > TimeSpan.Zero);

        // Dialing the same PeerId again reuses the live connection.
        Assert.Same(connection, await client.DialAsync(addr).WaitAsync(Timeout));
    }

    [Fact]
    public async Task Closing_a_connection_raises_closed_on_both_sides()
    {
        var (server, _, addr) = await StartAsync();
        await using var _s = server;
        using var clientId = Identity.Generate();
        await using var client = new SwarmHost(clientId);
        var serverSideClosed = Events.Next<Connection>(h => server.ConnectionClosed += h, null, Timeout);
        var connection = await client.DialAsync(addr).WaitAsync(Timeout);
        await connection.CloseAsync();
        await connection.Completion.WaitAsync(Timeout);
        await serverSideClosed;
        Assert.Empty(client.Connections);
    }

    [Fact]
    public async Task Unsupported_protocol_is_refused_and_connection_stays_usable()
    {
        var (server, _, addr) = await StartAsync();
        await using var _s = server;
        using var clientId = Identity.Generate();
        await using var client = new SwarmHost(clientId);
        var ping = new PingService(client);
        var connection = await client.DialAsync(addr).WaitAsync(Timeout);
        await Assert.ThrowsAnyAsync<P2PNetException>(() => connection.OpenStreamAsync("/nope/1.0.0").WaitAsync(Timeout));
        Assert.True((await ping.PingAsync(connection).WaitAsync(Timeout)) > TimeSpan.Zero);
    }

    [Fact]
    public async Task Dialing_with_the_wrong_peer_id_fails_and_server_keeps_serving()
    {
        var (server, serverId, addr) = await StartAsync();
        await using var _s = server;
        using var clientId = Identity.Generate();
        await using var client = new SwarmHost(clientId);
        using var someoneElse = Identity.Generate();
        var wrong = addr.WithPeerId(someoneElse.PeerId);
        var dial = await Assert.ThrowsAsync<DialException>(() => client.DialAsync(wrong).WaitAsync(Timeout));
        Assert.Equal(DialError.PeerIdMismatch, dial.Error);
        var ex = Assert.IsType<NoiseException>(dial.InnerException);
        Assert.Equal(NoiseError.PeerIdMismatch, ex.Error);
        Assert.Empty(client.Connections);

        // The right id still works.
        var connection = await client.DialAsync(addr).WaitAsync(Timeout);
        Assert.Equal(serverId.PeerId, connection.RemotePeerId);
    }

    [Fact]
    public async Task Garbage_during_multistream_select_closes_that_connection_only()
    {
        var (server, _, addr) = await StartAsync();
        await using var _s = server;
        var endPoint = addr.ToIPEndPoint()!;
        using (var raw = new TcpClient())
        {
            await raw.ConnectAsync(endPoint);
            var stream = raw.GetStream();
            await stream.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            var buffer = new byte[256];
            // The server answers with its multistream header at most, then closes: read until EOF.
            using var cts = new CancellationTokenSource(Timeout);
            while (await stream.ReadAsync(buffer, cts.Token) > 0) { }
        }
        await AssertServesAsync(addr);
    }

    [Fact]
    public async Task Stalled_handshake_is_cut_off_by_the_handshake_timeout()
    {
        var options = new SwarmOptions { Upgrade = new UpgradeOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(500) } };
        var (server, _, addr) = await StartAsync(options);
        await using var _s = server;
        using var raw = new TcpClient();
        await raw.ConnectAsync(addr.ToIPEndPoint()!);
        var stream = raw.GetStream();
        // A valid multistream header and /noise proposal, then silence in the middle of the Noise handshake.
        await stream.WriteAsync(Convert.FromHexString("132f6d756c746973747265616d2f312e302e300a07" + "2f6e6f6973650a"));
        var buffer = new byte[256];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var started = DateTime.UtcNow;
        while (await stream.ReadAsync(buffer, cts.Token) > 0) { }
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        await AssertServesAsync(addr);
    }

    [Fact]
    public async Task Truncated_handshake_closes_that_connection_only()
    {
        var (server, _, addr) = await StartAsync();
        await using var _s = server;
        using (var raw = new TcpClient())
        {
            await raw.ConnectAsync(addr.ToIPEndPoint()!);
            var stream = raw.GetStream();
            await stream.WriteAsync(Convert.FromHexString("132f6d756c746973747265616d2f312e302e300a07" + "2f6e6f6973650a" + "0020aabbcc"));
        }
        await AssertServesAsync(addr);
    }

    [Fact]
    public async Task Several_hosts_run_side_by_side_in_one_process()
    {
        var hosts = new List<(SwarmHost Host, Identity Id, Multiaddr Addr)>();
        for (int i = 0; i < 4; i++) hosts.Add(await StartAsync());
        try
        {
            foreach (var a in hosts)
                foreach (var b in hosts.Where(b => b.Id != a.Id))
                    await a.Host.DialAsync(b.Addr).WaitAsync(Timeout);
            foreach (var (host, _, _) in hosts)
                Assert.Equal(3, host.Connections.Select(c => c.RemotePeerId).Distinct().Count());
        }
        finally
        {
            foreach (var (host, id, _) in hosts)
            {
                await host.DisposeAsync();
                id.Dispose();
            }
        }
    }

    private static async Task AssertServesAsync(Multiaddr addr)
    {
        using var id = Identity.Generate();
        await using var client = new SwarmHost(id);
        var ping = new PingService(client);
        var connection = await client.DialAsync(addr).WaitAsync(Timeout);
        Assert.True((await ping.PingAsync(connection).WaitAsync(Timeout)) > TimeSpan.Zero);
    }
}
