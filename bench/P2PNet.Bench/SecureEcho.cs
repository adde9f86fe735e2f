using System.Buffers.Binary;
using System.Diagnostics;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Bench;

/// <summary>
/// Framed ping-pong on one raw yamux stream of a Noise connection (no PeerChannel): what the secure stream
/// alone costs per round trip, between plain TCP and a PeerChannel.
/// </summary>
internal sealed class SecureEcho : IAsyncDisposable
{
    private const string Protocol = "/bench/echo/1.0.0";
    private readonly Identity _a = Identity.Generate();
    private readonly Identity _b = Identity.Generate();
    private readonly SwarmHost _client;
    private readonly SwarmHost _server;
    private MuxedStream _stream = null!;

    private SecureEcho()
    {
        _client = new SwarmHost(_a);
        _server = new SwarmHost(_b);
    }

    public static async Task<SecureEcho> StartAsync()
    {
        var echo = new SecureEcho();
        echo._server.SetStreamHandler(Protocol, static async (stream, _, ct) =>
        {
            var frame = new byte[4 + 64 * 1024];
            while (true)
            {
                try { await stream.ReadExactlyAsync(frame.AsMemory(0, 4), ct); }
                catch (EndOfStreamException) { return; }
                int len = BinaryPrimitives.ReadInt32BigEndian(frame);
                await stream.ReadExactlyAsync(frame.AsMemory(4, len), ct);
                await stream.WriteAsync(frame.AsMemory(0, 4 + len), ct);
            }
        });
        var addr = await echo._server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var connection = await echo._client.DialAsync(addr.WithPeerId(echo._b.PeerId));
        echo._stream = await connection.OpenStreamAsync(Protocol);
        return echo;
    }

    /// <summary>Round trips of <paramref name="size"/>-byte frames, in microseconds.</summary>
    public async Task<double[]> RoundTripsAsync(int size, int rounds)
    {
        var ping = new byte[4 + size];
        BinaryPrimitives.WriteInt32BigEndian(ping, size);
        var pong = new byte[4 + size];
        var times = new double[rounds];
        for (int i = 0; i < rounds; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await _stream.WriteAsync(ping);
            await _stream.ReadExactlyAsync(pong);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        return times;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        await _client.DisposeAsync();
        await _server.DisposeAsync();
        _a.Dispose();
        _b.Dispose();
    }
}
