using P2PNet.Muxers.Yamux;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Muxers.Yamux;

/// <summary>An idle session holds neither its read nor its write buffer; both are rented while frames flow.</summary>
public class YamuxIdleBufferTests
{
    private static readonly TimeSpan Timeout = YamuxTestPair.Timeout;

    [Fact]
    public async Task An_idle_session_with_an_open_stream_holds_no_buffers()
    {
        await using var pair = await YamuxTestPair.CreateBufferedAsync();
        var accept = pair.Server.AcceptStreamAsync().AsTask();
        await using var client = await pair.Client.OpenStreamAsync();
        await using var server = (YamuxStream)(await accept.WaitAsync(Timeout))!;

        byte[] message = new byte[100_000];
        Random.Shared.NextBytes(message);
        await client.WriteAsync(message);
        byte[] got = new byte[message.Length];
        await server.ReadExactlyAsync(got).AsTask().WaitAsync(Timeout);
        Assert.Equal(message, got);
        await server.WriteAsync(got);
        await client.ReadExactlyAsync(got).AsTask().WaitAsync(Timeout);

        // Both loops go idle: a pending stream read and the session's zero-byte read hold nothing rented.
        var pending = server.ReadAsync(new byte[16]).AsTask();
        bool Idle(YamuxSession s) => !s.HoldsReadBuffer && !s.HoldsWriteBuffer;
        await Poll.UntilAsync(() => Idle(pair.Server) && Idle(pair.Client), Timeout, "idle sessions to return their buffers")
            .ContinueWith(_ => { }); // on a timeout, the asserts below say which buffer is held
        Assert.False(pair.Server.HoldsReadBuffer);
        Assert.False(pair.Server.HoldsWriteBuffer);
        Assert.False(pair.Client.HoldsReadBuffer);
        Assert.False(pair.Client.HoldsWriteBuffer);
        Assert.Equal(0, server.BufferedBytes);
        Assert.False(pending.IsCompleted);

        // Still works after going idle.
        await client.WriteAsync(new byte[] { 42 });
        Assert.Equal(1, await pending.WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_zero_byte_read_waits_for_data_or_fin_without_consuming()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        var accept = pair.Server.AcceptStreamAsync().AsTask();
        await using var client = await pair.Client.OpenStreamAsync();
        await client.WriteAsync(new byte[] { 1 });
        await using var server = (YamuxStream)(await accept.WaitAsync(Timeout))!;
        byte[] one = new byte[1];
        Assert.Equal(1, await server.ReadAsync(one).AsTask().WaitAsync(Timeout));

        var wait = server.ReadAsync(Memory<byte>.Empty).AsTask();
        await Task.Yield();
        Assert.False(wait.IsCompleted);
        await client.WriteAsync(new byte[] { 2, 3 });
        Assert.Equal(0, await wait.WaitAsync(Timeout));
        Assert.Equal(2, server.BufferedBytes); // nothing taken
        byte[] two = new byte[2];
        await server.ReadExactlyAsync(two).AsTask().WaitAsync(Timeout);
        Assert.Equal(new byte[] { 2, 3 }, two);

        wait = server.ReadAsync(Memory<byte>.Empty).AsTask();
        await client.CloseWriteAsync();
        Assert.Equal(0, await wait.WaitAsync(Timeout));
        Assert.Equal(0, await server.ReadAsync(one).AsTask().WaitAsync(Timeout)); // FIN: end of stream
    }

    [Fact]
    public async Task A_burst_of_240_streams_past_the_accept_backlog_all_echo()
    {
        // The default backlog is 64: the burst of 240 is held, not reset, as the stream limit (256) is not reached.
        await using var pair = await YamuxTestPair.CreateAsync();
        const int streams = 240, size = 64 * 1024;
        var serve = Task.Run(async () =>
        {
            var echoes = new List<Task>();
            for (int i = 0; i < streams; i++)
            {
                var stream = await pair.Server.AcceptStreamAsync();
                Assert.NotNull(stream);
                echoes.Add(Task.Run(async () =>
                {
                    await using (stream)
                    {
                        byte[] buffer = new byte[8192];
                        int n;
                        while ((n = await stream.ReadAsync(buffer)) > 0) await stream.WriteAsync(buffer.AsMemory(0, n));
                    }
                }));
                // A slow acceptor: the rest of the burst queues up past the backlog meanwhile.
                if (i == 0) await Task.Delay(50);
            }
            await Task.WhenAll(echoes);
        });

        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        var clients = await Task.WhenAll(Enumerable.Range(0, streams).Select(_ => pair.Client.OpenStreamAsync().AsTask()));
        await Task.WhenAll(clients.Select(async stream =>
        {
            await using (stream)
            {
                var read = Task.Run(async () =>
                {
                    byte[] got = new byte[size];
                    await stream.ReadExactlyAsync(got);
                    Assert.Equal(0, await stream.ReadAsync(new byte[1]));
                    Assert.True(payload.AsSpan().SequenceEqual(got));
                });
                await stream.WriteAsync(payload);
                await stream.CloseWriteAsync();
                await read;
            }
        })).WaitAsync(TimeSpan.FromSeconds(60));
        await serve.WaitAsync(Timeout);
    }

}
