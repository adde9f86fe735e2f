using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Bench;

/// <summary>One-way bulk throughput, in MB/s (10^6 bytes), of the three stacks over loopback.</summary>
internal static class ThroughputBench
{
    private const int Chunk = 64 * 1024;

    public static async Task<double> PlainTcpAsync(long total)
    {
        var (client, server) = await TcpPairAsync();
        using (client)
        using (server)
        {
            // Plain framed TCP: 4-byte length prefix + 64 KiB body, the baseline for any framing.
            var reader = Task.Run(async () =>
            {
                var header = new byte[4];
                var body = new byte[Chunk];
                long got = 0;
                while (got < total)
                {
                    await server.ReadExactlyAsync(header);
                    int len = BinaryPrimitives.ReadInt32BigEndian(header);
                    await server.ReadExactlyAsync(body.AsMemory(0, len));
                    got += len;
                }
            });
            var frame = new byte[4 + Chunk];
            BinaryPrimitives.WriteInt32BigEndian(frame, Chunk);
            var sw = Stopwatch.StartNew();
            for (long sent = 0; sent < total; sent += Chunk) await client.WriteAsync(frame);
            await reader;
            return total / sw.Elapsed.TotalSeconds / 1e6;
        }
    }

    /// <summary>SslStream TLS 1.3, mutually authenticated with ECDSA P-256 certificates (<see cref="Baselines"/>).</summary>
    public static async Task<double> SslStreamAsync(long total)
    {
        using var serverCert = Baselines.Certificate("server");
        using var clientCert = Baselines.Certificate("client");
        var (client, server) = await Baselines.TlsPairAsync(clientCert, serverCert);
        await using (client)
        await using (server)
            return await PumpAsync(client, server, total);
    }

    public static async Task<double> NoiseYamuxAsync(long total)
    {
        using var a = Identity.Generate();
        using var b = Identity.Generate();
        await using var sender = new SwarmHost(a);
        await using var receiver = new SwarmHost(b);
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        receiver.SetStreamHandler("/bench/sink/1.0.0", async (stream, _, ct) =>
        {
            var buffer = new byte[Chunk];
            long got = 0;
            int n;
            while ((n = await stream.ReadAsync(buffer, ct)) > 0) got += n;
            done.TrySetResult(got);
        });
        var addr = await receiver.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var connection = await sender.DialAsync(addr.WithPeerId(b.PeerId));
        await using var stream = await connection.OpenStreamAsync("/bench/sink/1.0.0");
        var chunk = new byte[Chunk];
        var sw = Stopwatch.StartNew();
        for (long sent = 0; sent < total; sent += Chunk) await stream.WriteAsync(chunk);
        await stream.CloseWriteAsync();
        long received = await done.Task.WaitAsync(TimeSpan.FromMinutes(2));
        if (received != total) throw new InvalidOperationException($"received {received} of {total} bytes");
        return total / sw.Elapsed.TotalSeconds / 1e6;
    }

    private static async Task<double> PumpAsync(Stream client, Stream server, long total)
    {
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[Chunk];
            long got = 0;
            while (got < total)
            {
                int n = await server.ReadAsync(buffer);
                if (n == 0) throw new EndOfStreamException();
                got += n;
            }
        });
        var chunk = new byte[Chunk];
        var sw = Stopwatch.StartNew();
        for (long sent = 0; sent < total; sent += Chunk) await client.WriteAsync(chunk);
        await client.FlushAsync();
        await reader;
        return total / sw.Elapsed.TotalSeconds / 1e6;
    }

    internal static async Task<(NetworkStream Client, NetworkStream Server)> TcpPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        var server = await accept;
        server.NoDelay = true;
        return (new NetworkStream(client, true), new NetworkStream(server, true));
    }

}
