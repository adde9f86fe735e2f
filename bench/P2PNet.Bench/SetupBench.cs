using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Bench;

/// <summary>Secure connection setups per second: TCP dial + Noise + yamux, then close.</summary>
internal static class SetupBench
{
    public static async Task<(double Sequential, double Concurrent)> RunAsync(TimeSpan duration)
    {
        using var serverId = Identity.Generate();
        using var clientId = Identity.Generate();
        await using var server = new SwarmHost(serverId, new SwarmOptions
        {
            MaxPendingInboundHandshakes = 256,
            // Every worker dials with the same identity; connections closing lag behind new ones.
            Limits = new ResourceLimits { MaxConnectionsPerPeer = 64 },
        });
        var addr = (await server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(serverId.PeerId);
        double seq = await MeasureAsync(clientId, addr, 1, duration / 2);
        double conc = await MeasureAsync(clientId, addr, 8, duration / 2);
        return (seq, conc);
    }

    private static async Task<double> MeasureAsync(Identity clientId, Multiaddr addr, int workers, TimeSpan duration)
    {
        long count = 0;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            // One client host per worker, dialing the address without /p2p/ so that every dial is a new
            // connection (a /p2p/ dial would reuse the live one); the PeerId is still checked below.
            await using var client = new SwarmHost(clientId);
            var expected = addr.PeerId;
            var target = addr.WithoutPeerId();
            while (sw.Elapsed < duration)
            {
                var connection = await client.DialAsync(target);
                if (connection.RemotePeerId != expected) throw new InvalidOperationException("wrong peer");
                await connection.PingMuxerAsync(); // proves the yamux session is live end to end
                await connection.DisposeAsync();
                Interlocked.Increment(ref count);
            }
        }));
        return count / sw.Elapsed.TotalSeconds;
    }

    public static async Task<double> TlsSetupsAsync(TimeSpan duration)
    {
        using var cert = ThroughputBench.SelfSigned();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(512);
        using var stop = new CancellationTokenSource();
        var serverLoop = Task.Run(async () =>
        {
            var tasks = new List<Task>();
            try
            {
                while (true)
                {
                    var s = await listener.AcceptAsync(stop.Token);
                    tasks.Add(Task.Run(async () =>
                    {
                        await using var ssl = new SslStream(new NetworkStream(s, true));
                        try
                        {
                            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = cert, EnabledSslProtocols = SslProtocols.Tls13 });
                            var one = new byte[1];
                            _ = await ssl.ReadAsync(one);
                            await ssl.WriteAsync(one);
                        }
                        catch (IOException) { }
                    }));
                }
            }
            catch (OperationCanceledException) { }
            await Task.WhenAll(tasks);
        });
        long count = 0;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            while (sw.Elapsed < duration)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(listener.LocalEndPoint!);
                await using var ssl = new SslStream(new NetworkStream(socket, true), false, (_, _, _, _) => true);
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", EnabledSslProtocols = SslProtocols.Tls13 });
                var one = new byte[1];
                await ssl.WriteAsync(one); // one round trip, as the yamux ping above
                _ = await ssl.ReadAsync(one);
                Interlocked.Increment(ref count);
            }
        }));
        double rate = count / sw.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await serverLoop;
        return rate;
    }
}
