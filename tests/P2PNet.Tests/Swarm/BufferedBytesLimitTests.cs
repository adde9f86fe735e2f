using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using P2PNet.Core;
using P2PNet.Swarm;
using P2PNet.Tests.Support;
using Xunit;

namespace P2PNet.Tests.Swarm;

/// <summary>
/// Buffered-bytes limits: a peer sending on many streams while the application reads none of them is held to the
/// connection's limit by backpressure (no reset), counted in metrics, and continues once the application reads.
/// </summary>
public sealed class BufferedBytesLimitTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private const string Protocol = "/test/sink/1.0.0";

    private static byte Pattern(int stream, int offset) => (byte)(stream * 31 + offset * 7);

    [Fact]
    public async Task Unread_streams_hold_at_most_the_connection_limit_then_continue_when_read()
    {
        const long limit = 1024 * 1024;
        const int streams = 16;
        const int perStream = 512 * 1024; // 8 MiB in all; without the limit the server would hold 16 full windows (4 MiB)
        await using var hosts = new MemoryHosts();
        var (server, addr) = await hosts.StartAsync(new SwarmOptions { Limits = new ResourceLimits { MaxBufferedBytesPerConnection = limit } });
        var (client, _) = await hosts.StartAsync();

        var drain = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new ConcurrentDictionary<int, TaskCompletionSource<bool>>();
        for (int i = 0; i < streams; i++) received[i] = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        int entered = 0;
        server.SetStreamHandler(Protocol, async (stream, _, ct) =>
        {
            var index = new byte[1];
            Interlocked.Increment(ref entered);
            await drain.Task.WaitAsync(ct); // the application reads nothing until told to
            Assert.Equal(1, await stream.ReadAsync(index, ct));
            int id = index[0];
            var buffer = new byte[16 * 1024];
            int total = 0;
            bool intact = true;
            while (true)
            {
                int n = await stream.ReadAsync(buffer, ct);
                if (n == 0) break;
                for (int k = 0; k < n; k++) intact &= buffer[k] == Pattern(id, total + k);
                total += n;
            }
            received[id].TrySetResult(intact && total == perStream);
        });

        long hits = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "P2PNet.Swarm" && instrument.Name == "p2pnet.swarm.limit.hits") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? scope = null, resource = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "scope") scope = (string?)tag.Value;
                if (tag.Key == "resource") resource = (string?)tag.Value;
            }
            if (scope == "connection" && resource == "buffered-bytes") Interlocked.Add(ref hits, value);
        });
        listener.Start();

        var connection = await client.DialAsync(addr).WaitAsync(Timeout);
        var opened = new List<MuxedStream>();
        for (int i = 0; i < streams; i++) opened.Add(await connection.OpenStreamAsync(Protocol).WaitAsync(Timeout));
        await Poll.UntilAsync(() => Volatile.Read(ref entered) == streams, Timeout, "every handler to start");
        var scope = Assert.Single(server.Connections).BufferScope;
        Assert.NotNull(scope);

        var writers = opened.Select((stream, i) => Task.Run(async () =>
        {
            var data = new byte[1 + perStream];
            data[0] = (byte)i;
            for (int k = 0; k < perStream; k++) data[1 + k] = Pattern(i, k);
            await stream.WriteAsync(data);
            await stream.CloseWriteAsync();
        })).ToArray();

        // The server fills up to the limit (the client's frames are at most 64 KiB) and stays there.
        await Poll.UntilAsync(() => scope.Bytes > limit - 64 * 1024, Timeout, "the server to buffer up to the limit");
        await Poll.UntilAsync(() => Interlocked.Read(ref hits) >= 1, Timeout, "the limit hit to be counted");
        Assert.False(writers.All(w => w.IsCompleted), "every writer finished although the server reads nothing");
        Assert.True(scope.PeakBytes <= limit, $"peak {scope.PeakBytes} bytes buffered, limit {limit}");
        Assert.True(server.Resources.BufferedBytes <= limit, $"{server.Resources.BufferedBytes} bytes buffered in the host");
        Assert.Equal(scope.Bytes, server.Resources.PeerBufferedBytes(client.LocalPeerId));

        // The application reads: every stream completes intact, nothing was reset, the accounts return to zero.
        drain.TrySetResult();
        await Task.WhenAll(writers).WaitAsync(Timeout);
        foreach (var result in received.Values) Assert.True(await result.Task.WaitAsync(Timeout), "a stream arrived incomplete or altered");
        Assert.True(scope.PeakBytes <= limit, $"peak {scope.PeakBytes} bytes buffered, limit {limit}");
        await Poll.UntilAsync(() => server.Resources.BufferedBytes == 0, Timeout, "the host's buffered bytes to return to 0");
        foreach (var stream in opened) await stream.DisposeAsync();
    }

    [Fact]
    public async Task A_closed_connection_releases_its_buffered_bytes()
    {
        await using var hosts = new MemoryHosts();
        var (server, addr) = await hosts.StartAsync();
        var (client, _) = await hosts.StartAsync();
        var never = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.SetStreamHandler(Protocol, async (_, _, ct) => await never.Task.WaitAsync(ct));

        var connection = await client.DialAsync(addr).WaitAsync(Timeout);
        await using var stream = await connection.OpenStreamAsync(Protocol).WaitAsync(Timeout);
        await stream.WriteAsync(new byte[100_000]).AsTask().WaitAsync(Timeout);
        await Poll.UntilAsync(() => server.Resources.BufferedBytes >= 100_000, Timeout, "the server to buffer the unread bytes");

        // The handler never reads and never ends: only the connection's close can release the bytes.
        await connection.CloseAsync();
        await Poll.UntilAsync(() => server.Resources.BufferedBytes == 0 && server.Resources.PeerBufferedBytes(client.LocalPeerId) == 0,
            Timeout, "the server to release the closed connection's buffered bytes");
        Assert.False(never.Task.IsCompleted);
    }
}
