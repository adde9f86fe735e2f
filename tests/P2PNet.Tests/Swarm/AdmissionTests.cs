using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Protocols.Ping;
using P2PNet.Swarm;
using P2PNet.Tests.Support;
using P2PNet.Upgrade;
using Xunit.Abstractions;

namespace P2PNet.Tests.Swarm;

/// <summary>
/// Admission under attack on real sockets: idle and trickling sockets from one address (127.0.0.2) must not keep a
/// good peer (127.0.0.1) out, and a client that sends garbage is closed at once.
/// </summary>
public sealed class AdmissionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.2");

    private static async Task<Socket> ConnectFromAsync(IPAddress source, IPEndPoint target)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(target).WaitAsync(Timeout);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<TimeSpan> AdmitGoodPeerAsync(Multiaddr addr)
    {
        using var id = Identity.Generate();
        await using var client = new SwarmHost(id);
        var ping = new PingService(client);
        var watch = Stopwatch.StartNew();
        var connection = await client.DialAsync(addr).WaitAsync(Timeout);
        await ping.PingAsync(connection).WaitAsync(Timeout);
        return watch.Elapsed;
    }

    // Reads until the server closes; the time it took, or null if it stayed open for the whole wait.
    private static async Task<TimeSpan?> TimeToCloseAsync(Socket socket, TimeSpan wait)
    {
        var watch = Stopwatch.StartNew();
        byte[] buffer = new byte[256];
        using var cts = new CancellationTokenSource(wait);
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) > 0) { }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (SocketException)
        {
            // reset: closed too
        }
        return watch.Elapsed;
    }

    [Fact]
    public async Task Good_peer_is_admitted_within_a_second_while_another_address_holds_1000_idle_sockets_and_trickles()
    {
        var log = new CapturingLoggerProvider();
        using var serverId = Identity.Generate();
        await using var server = new SwarmHost(serverId, loggerFactory: log.CreateFactory());
        _ = new PingService(server);
        var addr = (await server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(serverId.PeerId);
        var target = addr.ToIPEndPoint()!;

        await AdmitGoodPeerAsync(addr); // warm-up (JIT), so that the idle figure compares like with like
        var idle = await AdmitGoodPeerAsync(addr);

        var sockets = new List<Socket>();
        try
        {
            // 1,000 idle sockets from 127.0.0.2, opened 50 at a time.
            for (int i = 0; i < 1000; i += 50)
                sockets.AddRange(await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => ConnectFromAsync(Attacker, target))));

            // A trickler from the same address: a valid header, one byte at a time.
            using var trickler = await ConnectFromAsync(Attacker, target);
            using var stop = new CancellationTokenSource();
            var trickle = Task.Run(async () =>
            {
                byte[] header = "\x13/multistream/1.0.0\n"u8.ToArray();
                using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
                try
                {
                    foreach (byte b in header)
                    {
                        await trickler.SendAsync(new[] { b }, SocketFlags.None, stop.Token);
                        await timer.WaitForNextTickAsync(stop.Token);
                    }
                }
                catch (Exception ex) when (ex is SocketException or OperationCanceledException)
                {
                    // cut off by the server, or the test is over
                }
            });

            var underAttack = await AdmitGoodPeerAsync(addr);
            Measure.Report(output, $"admission: good peer dialed and pinged in {underAttack.TotalMilliseconds:0} ms while 127.0.0.2 holds 1,000 idle sockets and trickles, " +
                $"{idle.TotalMilliseconds:0} ms against the idle node (ratio {underAttack / idle:0.0})");
            Assert.True(underAttack < TimeSpan.FromSeconds(1), $"admission took {underAttack.TotalMilliseconds:0} ms");

            // The trickler loses its connection: closed at accept (its address is over its handshake cap) or at the
            // first-byte timeout (2 s), long before the handshake timeout.
            var trickleClosed = await TimeToCloseAsync(trickler, TimeSpan.FromSeconds(8));
            Assert.NotNull(trickleClosed);
            await stop.CancelAsync();
            await trickle;

            // The per-IP cap hit hundreds of times but was logged once.
            Assert.Single(log.Entries, e => e.Message.Contains("ip handshakes limit", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var socket in sockets) socket.Dispose();
        }
    }

    [Fact]
    public async Task Idle_sockets_beyond_the_per_ip_cap_are_closed_at_accept_and_the_rest_at_the_first_byte_timeout()
    {
        var options = new SwarmOptions
        {
            Upgrade = new UpgradeOptions { FirstByteTimeout = TimeSpan.FromMilliseconds(500) },
            Limits = new ResourceLimits { MaxPendingHandshakesPerLoopbackIp = 4 },
        };
        using var serverId = Identity.Generate();
        await using var server = new SwarmHost(serverId, options);
        var target = (await server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).ToIPEndPoint()!;
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < 12; i++) sockets.Add(await ConnectFromAsync(Attacker, target));
            var closes = await Task.WhenAll(sockets.Select(s => TimeToCloseAsync(s, Timeout)));
            Assert.All(closes, c => Assert.NotNull(c));
            // At most 4 wait for the first-byte timeout; the other 8 are closed at accept.
            Assert.True(closes.Count(c => c < TimeSpan.FromMilliseconds(400)) >= 8, string.Join(", ", closes.Select(c => c?.TotalMilliseconds)));
        }
        finally
        {
            foreach (var socket in sockets) socket.Dispose();
        }
    }

    [Fact]
    public async Task Inbound_connections_per_ip_cap_closes_the_extra_at_accept_until_one_closes()
    {
        var options = new SwarmOptions { Limits = new ResourceLimits { MaxInboundConnectionsPerLoopbackIp = 2 } };
        using var serverId = Identity.Generate();
        await using var server = new SwarmHost(serverId, options);
        _ = new PingService(server);
        var addr = (await server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(serverId.PeerId);
        var ids = Enumerable.Range(0, 3).Select(_ => Identity.Generate()).ToArray();
        var clients = ids.Select(id => new SwarmHost(id)).ToArray();
        try
        {
            var first = await clients[0].DialAsync(addr).WaitAsync(Timeout);
            await clients[1].DialAsync(addr).WaitAsync(Timeout);
            await Poll.UntilAsync(() => server.Connections.Count == 2, Timeout, "two inbound connections");
            var refused = await Assert.ThrowsAsync<DialException>(() => clients[2].DialAsync(addr).WaitAsync(Timeout));
            Assert.IsAssignableFrom<IOException>(refused.InnerException);

            await first.CloseAsync();
            await Poll.UntilAsync(() => server.Connections.Count == 1, Timeout, "the server to drop the first connection");
            var third = await clients[2].DialAsync(addr).WaitAsync(Timeout);
            Assert.True(await new PingService(clients[2]).PingAsync(third).WaitAsync(Timeout) > TimeSpan.Zero);
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
            foreach (var id in ids) id.Dispose();
        }
    }

    [Fact]
    public async Task Client_sending_garbage_first_is_closed_at_once()
    {
        var log = new CapturingLoggerProvider();
        var options = new SwarmOptions { Upgrade = new UpgradeOptions { FirstByteTimeout = Timeout, HandshakeTimeout = Timeout } };
        using var serverId = Identity.Generate();
        await using var server = new SwarmHost(serverId, options, log.CreateFactory());
        _ = new PingService(server);
        var addr = (await server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(serverId.PeerId);

        using var socket = await ConnectFromAsync(Attacker, addr.ToIPEndPoint()!);
        await socket.SendAsync("GET / HTTP/1.1\r\n"u8.ToArray(), SocketFlags.None);
        var closed = await TimeToCloseAsync(socket, Timeout);
        Assert.NotNull(closed);
        Assert.True(closed < TimeSpan.FromSeconds(1), $"closed after {closed?.TotalMilliseconds} ms");
        await log.WaitForAsync(m => m.Contains("multistream-select header", StringComparison.Ordinal), Timeout);

        Assert.True(await AdmitGoodPeerAsync(addr) < Timeout);
    }
}
