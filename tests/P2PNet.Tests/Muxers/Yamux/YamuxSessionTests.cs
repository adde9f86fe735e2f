using System.Security.Cryptography;
using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Muxers.Yamux;

public class YamuxSessionTests
{
    private static readonly TimeSpan Timeout = YamuxTestPair.Timeout;

    private static async Task<byte[]> ReadToEndAsync(Stream stream, int expected = 0)
    {
        using var ms = new MemoryStream(expected);
        await stream.CopyToAsync(ms).WaitAsync(Timeout);
        return ms.ToArray();
    }

    [Fact]
    public async Task Open_accept_and_echo()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        var echo = Task.Run(async () =>
        {
            await using var s = (await pair.Server.AcceptStreamAsync())!;
            byte[] got = await ReadToEndAsync(s);
            await s.WriteAsync(got);
            await s.CloseWriteAsync();
        });

        await using var stream = await pair.Client.OpenStreamAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(1u, ((YamuxStream)stream).Id);
        await stream.WriteAsync("hello yamux"u8.ToArray());
        await stream.CloseWriteAsync();
        Assert.Equal("hello yamux"u8.ToArray(), await ReadToEndAsync(stream));
        await echo.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Server_opened_streams_use_even_ids()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        var stream = (YamuxStream)await pair.Server.OpenStreamAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(2u, stream.Id);
        await stream.WriteAsync(new byte[] { 7 });
        var accepted = (YamuxStream)(await pair.Client.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;
        Assert.Equal(2u, accepted.Id);
        byte[] one = new byte[1];
        await accepted.ReadExactlyAsync(one).AsTask().WaitAsync(Timeout);
        Assert.Equal(7, one[0]);
    }

    [Fact]
    public async Task Half_close_keeps_the_other_direction_open()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        var client = await pair.Client.OpenStreamAsync();
        await client.WriteAsync("request"u8.ToArray());
        await client.CloseWriteAsync();
        var write = await Assert.ThrowsAsync<YamuxException>(() => client.WriteAsync(new byte[1]).AsTask());
        Assert.Equal(YamuxError.StreamClosed, write.Error);

        var server = (await pair.Server.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;
        Assert.Equal("request"u8.ToArray(), await ReadToEndAsync(server));
        Assert.Equal(0, await server.ReadAsync(new byte[8]).AsTask().WaitAsync(Timeout)); // EOF stays EOF

        await server.WriteAsync("response"u8.ToArray());
        await server.CloseWriteAsync();
        Assert.Equal("response"u8.ToArray(), await ReadToEndAsync(client));
        await Poll.UntilAsync(() => pair.Client.StreamCount == 0 && pair.Server.StreamCount == 0, Timeout, "both sessions to drop the streams");
    }

    [Fact]
    public async Task Reset_fails_the_remote_side()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        var client = await pair.Client.OpenStreamAsync();
        await client.WriteAsync(new byte[] { 1 });
        var server = (await pair.Server.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;
        Assert.Equal(1, await server.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout));

        var pendingRead = server.ReadAsync(new byte[1]).AsTask();
        client.Reset();
        var ex = await Assert.ThrowsAsync<YamuxException>(() => pendingRead.WaitAsync(Timeout));
        Assert.Equal(YamuxError.StreamReset, ex.Error);
        Assert.IsAssignableFrom<IOException>(ex);
        var write = await Assert.ThrowsAsync<YamuxException>(() => server.WriteAsync(new byte[1]).AsTask());
        Assert.Equal(YamuxError.StreamReset, write.Error);
        var local = await Assert.ThrowsAsync<YamuxException>(() => client.ReadAsync(new byte[1]).AsTask());
        Assert.Equal(YamuxError.StreamReset, local.Error);
        await Poll.UntilAsync(() => pair.Client.StreamCount == 0 && pair.Server.StreamCount == 0, Timeout, "both sessions to drop the streams");
    }

    [Fact]
    public async Task Ten_concurrent_streams_echo_one_mebibyte_each()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        const int Size = 1024 * 1024;
        var server = Task.Run(async () =>
        {
            var echoes = new List<Task>();
            for (int i = 0; i < 10; i++)
            {
                var s = (await pair.Server.AcceptStreamAsync())!;
                echoes.Add(Task.Run(async () =>
                {
                    await using (s)
                    {
                        byte[] buffer = new byte[32 * 1024];
                        int n;
                        while ((n = await s.ReadAsync(buffer)) > 0) await s.WriteAsync(buffer.AsMemory(0, n));
                        await s.CloseWriteAsync();
                    }
                }));
            }
            await Task.WhenAll(echoes);
        });

        var clients = Enumerable.Range(0, 10).Select(async _ =>
        {
            byte[] data = RandomNumberGenerator.GetBytes(Size);
            await using var s = await pair.Client.OpenStreamAsync();
            var send = Task.Run(async () =>
            {
                for (int off = 0; off < Size; off += 100_000) await s.WriteAsync(data.AsMemory(off, Math.Min(100_000, Size - off)));
                await s.CloseWriteAsync();
            });
            byte[] echoed = await ReadToEndAsync(s, Size);
            await send;
            Assert.True(data.AsSpan().SequenceEqual(echoed));
        }).ToArray();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(30));
        await server.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Slow_reader_stalls_the_writer_within_the_window()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        const int Window = 256 * 1024;
        const int Size = 1024 * 1024;
        byte[] data = RandomNumberGenerator.GetBytes(Size);
        var writer = (YamuxStream)await pair.Client.OpenStreamAsync();
        var write = writer.WriteAsync(data).AsTask();
        var reader = (YamuxStream)(await pair.Server.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;

        await Poll.UntilAsync(() => reader.BufferedBytes == Window && writer.SendWindow == 0, Timeout, "the window to fill");
        await pair.Client.PingAsync().AsTask().WaitAsync(Timeout);
        await pair.Server.PingAsync().AsTask().WaitAsync(Timeout);
        Assert.False(write.IsCompleted);
        Assert.Equal(Window, reader.BufferedBytes);
        Assert.Equal(0, reader.ReceiveWindow);

        byte[] got = new byte[Size];
        int total = 0;
        while (total < Size)
        {
            int n = await reader.ReadAsync(got.AsMemory(total)).AsTask().WaitAsync(Timeout);
            Assert.True(n > 0);
            total += n;
            // A reader that keeps up may let the window grow (auto-tuning); never more than the window is buffered.
            int buffered = reader.BufferedBytes;
            Assert.True(buffered <= reader.WindowSize);
        }
        await write.WaitAsync(Timeout);
        Assert.True(data.AsSpan().SequenceEqual(got));
    }

    [Fact]
    public async Task Opening_the_receive_window_lets_the_remote_send_that_much_at_once_up_to_the_largest_window()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        const int Size = 1024 * 1024;
        var writer = (YamuxStream)await pair.Client.OpenStreamAsync();
        var reader = (YamuxStream)(await pair.Server.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;

        // Nothing is read meanwhile: with the 256 KiB window the writer would stop at a quarter.
        reader.OpenReceiveWindow(Size);
        Assert.Equal(Size, reader.WindowSize);
        byte[] data = RandomNumberGenerator.GetBytes(Size);
        await writer.WriteAsync(data).AsTask().WaitAsync(Timeout);
        await Poll.UntilAsync(() => reader.BufferedBytes == Size, Timeout, "the whole megabyte to be buffered");
        byte[] got = new byte[Size];
        await reader.ReadExactlyAsync(got).AsTask().WaitAsync(Timeout);
        Assert.True(data.AsSpan().SequenceEqual(got));

        // Never past the largest window, and never smaller than it already is.
        reader.OpenReceiveWindow(64 * 1024 * 1024);
        Assert.Equal(new YamuxOptions().MaxWindowSize, reader.WindowSize);
        reader.OpenReceiveWindow(Size);
        Assert.Equal(new YamuxOptions().MaxWindowSize, reader.WindowSize);
    }

    [Fact]
    public async Task A_stream_whose_window_was_opened_keeps_its_receive_buffer_across_drains_until_the_remote_closes()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        var writer = (YamuxStream)await pair.Client.OpenStreamAsync();
        var reader = (YamuxStream)(await pair.Server.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;
        var plainWriter = (YamuxStream)await pair.Client.OpenStreamAsync();
        var plain = (YamuxStream)(await pair.Server.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;
        reader.OpenReceiveWindow(1024 * 1024);

        // More than the first 256 KiB ring, so it grows; then drained by the reader.
        byte[] data = RandomNumberGenerator.GetBytes(300 * 1024);
        await writer.WriteAsync(data).AsTask().WaitAsync(Timeout);
        await plainWriter.WriteAsync(data.AsMemory(0, 1000)).AsTask().WaitAsync(Timeout);
        await Poll.UntilAsync(() => reader.BufferedBytes == data.Length && plain.BufferedBytes == 1000, Timeout, "both writes to be buffered");
        byte[] got = new byte[data.Length];
        await reader.ReadExactlyAsync(got).AsTask().WaitAsync(Timeout);
        await plain.ReadExactlyAsync(got.AsMemory(0, 1000)).AsTask().WaitAsync(Timeout);
        Assert.True(reader.HoldsReceiveBuffer); // kept for the rest of what its reader asked for
        Assert.False(plain.HoldsReceiveBuffer); // an ordinary stream gives its ring back once drained

        // The remote's FIN ends what can arrive: the kept ring goes back to the pool.
        await writer.DisposeAsync();
        await Poll.UntilAsync(() => !reader.HoldsReceiveBuffer, Timeout, "the kept ring to be released at the remote's FIN");
        Assert.Equal(0, await reader.ReadAsync(got).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Blocked_write_honours_cancellation()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        var writer = await pair.Client.OpenStreamAsync();
        await writer.WriteAsync(new byte[256 * 1024]); // fills the window exactly
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer.WriteAsync(new byte[1], cts.Token).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Ping_measures_round_trip_time()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        TimeSpan rtt = await pair.Client.PingAsync().AsTask().WaitAsync(Timeout);
        Assert.True(rtt > TimeSpan.Zero && rtt < Timeout);
        TimeSpan back = await pair.Server.PingAsync().AsTask().WaitAsync(Timeout);
        Assert.True(back > TimeSpan.Zero);
    }

    [Fact]
    public async Task Go_away_stops_new_streams_and_dispose_ends_the_remote_session()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        var existing = await pair.Client.OpenStreamAsync();
        await existing.WriteAsync(new byte[] { 1 });
        var accepted = (await pair.Server.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;

        await pair.Client.GoAwayAsync();
        Assert.Null(await pair.Server.AcceptStreamAsync().AsTask().WaitAsync(Timeout));
        var open = await Assert.ThrowsAsync<YamuxException>(() => pair.Server.OpenStreamAsync().AsTask());
        Assert.Equal(YamuxError.RemoteGoAway, open.Error);
        await Assert.ThrowsAsync<YamuxException>(() => pair.Client.OpenStreamAsync().AsTask());

        // Existing streams keep working after go-away.
        Assert.Equal(1, await accepted.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout));

        await pair.Client.DisposeAsync();
        await pair.Server.Completion.WaitAsync(Timeout);
        await pair.Client.Completion.WaitAsync(Timeout);
        Assert.Null(await pair.Server.AcceptStreamAsync().AsTask().WaitAsync(Timeout));
        var read = await Assert.ThrowsAsync<YamuxException>(() => accepted.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout));
        Assert.Equal(YamuxError.SessionClosed, read.Error);
    }

    [Fact]
    public async Task Dispose_is_idempotent_and_flushes_pending_data()
    {
        var pair = await YamuxTestPair.CreateAsync();
        var stream = await pair.Client.OpenStreamAsync();
        byte[] data = RandomNumberGenerator.GetBytes(100_000);
        await stream.WriteAsync(data);
        await stream.CloseWriteAsync();
        await pair.Client.DisposeAsync();
        await pair.Client.DisposeAsync();

        var accepted = (await pair.Server.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;
        Assert.Equal(data, await ReadToEndAsync(accepted));
        await pair.Server.Completion.WaitAsync(Timeout);
        await Assert.ThrowsAsync<YamuxException>(() => pair.Client.PingAsync().AsTask());
        Assert.Null(await pair.Client.AcceptStreamAsync());
        await pair.DisposeAsync();
    }

    [Fact]
    public async Task Window_grows_while_the_reader_keeps_up_and_never_buffers_more_than_it()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        // A long link: any half window consumed within four round trips (one hour) makes the window the limit.
        pair.Server.NoteRoundTrip(TimeSpan.FromHours(1));
        var (reader, writer) = await MoveAsync(pair, 8 * 1024 * 1024);
        Assert.InRange(reader.WindowSize, 4 * YamuxFrameHeader.DefaultWindow, YamuxOptions.Default.MaxWindowSize);
        // The sender is granted the grown window (once the last update arrives): more than the initial one in flight.
        await Poll.UntilAsync(() => writer.SendWindow > YamuxFrameHeader.DefaultWindow, Timeout, "the grown window to reach the sender");
    }

    [Fact]
    public async Task Window_stays_when_half_of_it_takes_longer_than_four_round_trips()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        pair.Server.NoteRoundTrip(TimeSpan.FromTicks(1)); // 100 ns: no reader consumes 128 KiB within 400 ns
        var (reader, _) = await MoveAsync(pair, 4 * 1024 * 1024);
        Assert.Equal(YamuxFrameHeader.DefaultWindow, reader.WindowSize);
    }

    [Fact]
    public async Task Window_stays_at_the_initial_size_when_auto_tuning_is_off()
    {
        var options = new YamuxOptions { MaxWindowSize = YamuxFrameHeader.DefaultWindow };
        await using var pair = await YamuxTestPair.CreateAsync(options);
        pair.Server.NoteRoundTrip(TimeSpan.FromHours(1));
        var (reader, _) = await MoveAsync(pair, 4 * 1024 * 1024);
        Assert.Equal(YamuxFrameHeader.DefaultWindow, reader.WindowSize);
    }

    [Fact]
    public async Task A_stream_that_moves_data_has_the_session_measure_its_round_trip()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        Assert.Equal(0, pair.Server.RoundTripTicks);
        await MoveAsync(pair, 1024 * 1024); // the reader's window updates start one probe ping
        await Poll.UntilAsync(() => pair.Server.RoundTripTicks > 0, Timeout, "the probe ping's answer");
    }

    // Writes size random bytes on a new stream while the accepted side reads them as they come; checks that the
    // reader never holds more than its window, and that the bytes arrive whole.
    private static async Task<(YamuxStream Reader, YamuxStream Writer)> MoveAsync(YamuxTestPair pair, int size)
    {
        byte[] data = RandomNumberGenerator.GetBytes(size);
        var writer = (YamuxStream)await pair.Client.OpenStreamAsync();
        var write = writer.WriteAsync(data).AsTask();
        var reader = (YamuxStream)(await pair.Server.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;
        byte[] got = new byte[size];
        int total = 0;
        while (total < size)
        {
            int n = await reader.ReadAsync(got.AsMemory(total, Math.Min(64 * 1024, size - total))).AsTask().WaitAsync(Timeout);
            Assert.True(n > 0);
            total += n;
            int buffered = reader.BufferedBytes;
            Assert.True(buffered <= reader.WindowSize, $"{buffered} bytes buffered in a window of {reader.WindowSize}");
        }
        await write.WaitAsync(Timeout);
        Assert.True(data.AsSpan().SequenceEqual(got));
        return (reader, writer);
    }

    [Fact]
    public async Task Larger_configured_window_is_announced_and_used()
    {
        var options = new YamuxOptions { InitialWindowSize = 1024 * 1024 };
        await using var pair = await YamuxTestPair.CreateAsync(options);
        var writer = (YamuxStream)await pair.Client.OpenStreamAsync();
        var write = writer.WriteAsync(new byte[1024 * 1024]).AsTask();
        var reader = (YamuxStream)(await pair.Server.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;
        await write.WaitAsync(Timeout); // the whole MiB fits the announced window without reading
        await Poll.UntilAsync(() => reader.BufferedBytes == 1024 * 1024, Timeout, "1 MiB to be buffered");
        Assert.Equal(0, writer.SendWindow);
    }

    [Fact]
    public async Task Stream_is_a_muxed_stream_with_protocol_slot()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        MuxedStream s = await pair.Client.OpenStreamAsync();
        s.Protocol = "/test/1";
        Assert.Equal("/test/1", s.Protocol);
        Assert.Throws<NotSupportedException>(() => s.Read(new byte[1], 0, 1));
        Assert.Equal("/yamux/1.0.0", YamuxSession.ProtocolId);
    }
}
