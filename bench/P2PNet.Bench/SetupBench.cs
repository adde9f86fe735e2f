using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Bench;

/// <summary>
/// Secure connection setups per second: ours (TCP dial + Noise + yamux + one ping, then close) against full
/// TLS 1.3 handshakes (new TCP connection, ECDSA P-256 certificates on both sides, no resumption, one byte each
/// way). The two run in interleaved rounds so that a noisy neighbour hits both alike; each pair of rounds
/// gives one ratio.
/// </summary>
internal sealed class SetupBench : IAsyncDisposable
{
    private readonly Identity _serverId = Identity.Generate();
    private readonly Identity _clientId = Identity.Generate();
    private readonly X509Certificate2 _serverCert = Baselines.Certificate("server");
    private readonly X509Certificate2 _clientCert = Baselines.Certificate("client");
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();
    private SwarmHost _server = null!;
    private Multiaddr _addr = null!;
    private Task _tlsServer = Task.CompletedTask;
    // Made once, as a server or client would: a certificate context builds its chain when created.
    private SslServerAuthenticationOptions _serverOptions = null!;
    private SslClientAuthenticationOptions _clientOptions = null!;

    public static async Task<SetupBench> StartAsync()
    {
        var bench = new SetupBench();
        bench._server = new SwarmHost(bench._serverId, new SwarmOptions
        {
            MaxPendingInboundHandshakes = 256,
            // Every worker dials with the same identity; connections closing lag behind new ones.
            Limits = new ResourceLimits { MaxConnectionsPerPeer = 64 },
        });
        bench._addr = (await bench._server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(bench._serverId.PeerId);
        bench._serverOptions = Baselines.ServerOptions(bench._serverCert);
        bench._clientOptions = Baselines.ClientOptions(bench._clientCert);
        bench._listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        bench._listener.Listen(512);
        bench._tlsServer = Task.Run(bench.TlsServeAsync);
        return bench;
    }

    /// <summary>Our setups per second with <paramref name="workers"/> concurrent dialers.</summary>
    public async Task<double> OursAsync(int workers, TimeSpan duration) => (await OursTimedAsync(workers, duration)).Rate;

    /// <summary>Our setups per second and the process CPU time per setup (both sides are in this process), in µs.</summary>
    public async Task<(double Rate, double CpuMicros)> OursTimedAsync(int workers, TimeSpan duration)
    {
        long count = 0;
        // One client host per worker, made before the clock starts (a host is made once, not per connection).
        var clients = Enumerable.Range(0, workers).Select(_ => new SwarmHost(_clientId)).ToArray();
        try
        {
            var expected = _addr.PeerId;
            // Dial the address without /p2p/ so that every dial is a new connection (a /p2p/ dial would reuse the
            // live one); the PeerId is still checked below.
            var target = _addr.WithoutPeerId();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            await Task.WhenAll(clients.Select(async client =>
            {
                while (sw.Elapsed < duration)
                {
                    var connection = await client.DialAsync(target);
                    if (connection.RemotePeerId != expected) throw new InvalidOperationException("wrong peer");
                    await connection.PingMuxerAsync(); // proves the yamux session is live end to end
                    await connection.DisposeAsync();
                    Interlocked.Increment(ref count);
                }
            }));
            double rate = count / sw.Elapsed.TotalSeconds;
            return (rate, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / count);
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }
    }

    /// <summary>Full TLS 1.3 handshakes per second (mutual authentication, no resumption), 8 concurrent.</summary>
    public async Task<double> TlsAsync(int workers, TimeSpan duration) => (await TlsTimedAsync(workers, duration)).Rate;

    /// <summary>TLS handshakes per second and the process CPU time per handshake (both sides), in µs.</summary>
    public async Task<(double Rate, double CpuMicros)> TlsTimedAsync(int workers, TimeSpan duration)
    {
        long count = 0;
        var endpoint = _listener.LocalEndPoint!;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            var one = new byte[1];
            while (sw.Elapsed < duration)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(endpoint);
                await using var ssl = new SslStream(new NetworkStream(socket, true), false);
                await ssl.AuthenticateAsClientAsync(_clientOptions);
                await ssl.WriteAsync(one); // one round trip, as the yamux ping above
                _ = await ssl.ReadAsync(one);
                Interlocked.Increment(ref count);
            }
        }));
        double rate = count / sw.Elapsed.TotalSeconds;
        // The server side's last handshakes may still be finishing: CPU per handshake is an upper bound by a few.
        return (rate, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / count);
    }

    private async Task TlsServeAsync()
    {
        var tasks = new List<Task>();
        try
        {
            while (true)
            {
                var s = await _listener.AcceptAsync(_stop.Token);
                s.NoDelay = true;
                tasks.RemoveAll(t => t.IsCompleted);
                tasks.Add(Task.Run(async () =>
                {
                    await using var ssl = new SslStream(new NetworkStream(s, true));
                    try
                    {
                        await ssl.AuthenticateAsServerAsync(_serverOptions);
                        if (!ssl.IsMutuallyAuthenticated) throw new InvalidOperationException("client not authenticated");
                        var one = new byte[1];
                        _ = await ssl.ReadAsync(one);
                        await ssl.WriteAsync(one);
                    }
                    catch (IOException) { }
                    catch (AuthenticationException) { }
                }));
            }
        }
        catch (OperationCanceledException) { }
        await Task.WhenAll(tasks);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _tlsServer;
        _listener.Dispose();
        await _server.DisposeAsync();
        _serverId.Dispose();
        _clientId.Dispose();
        _serverCert.Dispose();
        _clientCert.Dispose();
        _stop.Dispose();
    }
}
