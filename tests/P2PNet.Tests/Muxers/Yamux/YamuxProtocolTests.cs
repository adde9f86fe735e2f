using System.Buffers.Binary;
using System.Net.Sockets;
using P2PNet.Muxers.Yamux;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Muxers.Yamux;

/// <summary>A yamux server session driven by raw frames written on the other end of a loopback socket.</summary>
public class YamuxProtocolTests
{
    private static readonly TimeSpan Timeout = YamuxTestPair.Timeout;

    private const byte Data = 0, WindowUpdate = 1, Ping = 2, GoAway = 3;
    private const ushort Syn = 1, Ack = 2, Fin = 4, Rst = 8;

    private static byte[] Frame(byte type, ushort flags, uint id, uint length, byte version = 0)
    {
        byte[] h = new byte[12];
        h[0] = version;
        h[1] = type;
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), id);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(8), length);
        return h;
    }

    private static async Task<(byte Type, ushort Flags, uint Id, uint Length)> ReadFrameAsync(NetworkStream raw)
    {
        byte[] h = new byte[12];
        await raw.ReadExactlyAsync(h).AsTask().WaitAsync(Timeout);
        Assert.Equal(0, h[0]);
        return (h[1], BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(2)), BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(4)),
            BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(8)));
    }

    private static async Task<(NetworkStream Raw, YamuxSession Server)> CreateAsync(YamuxOptions? options = null)
    {
        var (raw, server) = await LoopbackTcp.ConnectAsync();
        return (raw, new YamuxSession(server, isClient: false, options));
    }

    private static async Task AssertViolationAsync(NetworkStream raw, YamuxSession server, YamuxError expected)
    {
        var ex = await Assert.ThrowsAsync<YamuxException>(() => server.Completion.WaitAsync(Timeout));
        Assert.Equal(expected, ex.Error);
        // The remote is told why: go-away with code 1 (protocol error), then the connection closes.
        var (type, _, id, code) = await ReadFrameAsync(raw);
        Assert.Equal((GoAway, 0u, 1u), (type, id, code));
        Assert.Equal(0, await raw.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout));
        Assert.Null(await server.AcceptStreamAsync().AsTask().WaitAsync(Timeout));
    }

    public static TheoryData<byte[], YamuxError> HeaderViolations => new()
    {
        { Frame(Data, Syn, 1, 0, version: 1), YamuxError.BadVersion },
        { Frame(7, 0, 0, 0), YamuxError.UnknownType },
        { Frame(Data, 0, 5, 3), YamuxError.UnknownStream },
        { Frame(WindowUpdate, 0, 4, 1000), YamuxError.UnknownStream },
        { Frame(WindowUpdate, Syn, 2, 0), YamuxError.InvalidStreamId },
        { Frame(Data, Syn, 0, 0), YamuxError.ProtocolError },
        { Frame(Ping, Syn, 1, 0), YamuxError.ProtocolError },
        { Frame(GoAway, 0, 3, 0), YamuxError.ProtocolError },
        { Frame(Data, Syn, 1, 256 * 1024 + 1), YamuxError.WindowOverrun },
    };

    [Theory]
    [MemberData(nameof(HeaderViolations))]
    public async Task Violations_end_the_session_with_go_away(byte[] frame, YamuxError expected)
    {
        var (raw, server) = await CreateAsync();
        await using (raw)
        await using (server)
        {
            await raw.WriteAsync(frame);
            await AssertViolationAsync(raw, server, expected);
        }
    }

    [Fact]
    public async Task Data_beyond_the_remaining_window_is_an_overrun()
    {
        var (raw, server) = await CreateAsync();
        await using (raw)
        await using (server)
        {
            await raw.WriteAsync(Frame(Data, Syn, 1, 200_000));
            await raw.WriteAsync(new byte[200_000]);
            await raw.WriteAsync(Frame(Data, 0, 1, 100_000)); // 200 000 + 100 000 > 256 KiB, nothing was read
            await AssertViolationAsync(raw, server, YamuxError.WindowOverrun);
        }
    }

    [Fact]
    public async Task Syn_for_an_open_stream_is_a_violation()
    {
        var (raw, server) = await CreateAsync();
        await using (raw)
        await using (server)
        {
            await raw.WriteAsync(Frame(WindowUpdate, Syn, 1, 0));
            await raw.WriteAsync(Frame(WindowUpdate, Syn, 1, 0));
            await AssertViolationAsync(raw, server, YamuxError.DuplicateStream);
        }
    }

    [Fact]
    public async Task Remote_go_away_with_error_faults_the_session()
    {
        var (raw, server) = await CreateAsync();
        await using (raw)
        await using (server)
        {
            await raw.WriteAsync(Frame(GoAway, 0, 0, 2));
            var ex = await Assert.ThrowsAsync<YamuxException>(() => server.Completion.WaitAsync(Timeout));
            Assert.Equal(YamuxError.RemoteGoAway, ex.Error);
        }
    }

    [Fact]
    public async Task Window_update_with_syn_opens_a_stream_and_accept_acks_it()
    {
        var (raw, server) = await CreateAsync();
        await using (raw)
        await using (server)
        {
            // js-libp2p style: open with an empty window update carrying SYN, then data with FIN.
            await raw.WriteAsync(Frame(WindowUpdate, Syn, 1, 0));
            await raw.WriteAsync(Frame(Data, Fin, 1, 2));
            await raw.WriteAsync("hi"u8.ToArray());
            var stream = (await server.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;
            var (type, flags, id, delta) = await ReadFrameAsync(raw);
            Assert.Equal((WindowUpdate, Ack, 1u, 0u), (type, flags, id, delta));

            byte[] buffer = new byte[4];
            int n = await stream.ReadAsync(buffer).AsTask().WaitAsync(Timeout);
            Assert.Equal("hi"u8.ToArray(), buffer[..n]);
            Assert.Equal(0, await stream.ReadAsync(buffer).AsTask().WaitAsync(Timeout));

            await stream.WriteAsync("ok"u8.ToArray());
            await stream.CloseWriteAsync();
            (type, flags, id, uint length) = await ReadFrameAsync(raw);
            Assert.Equal((Data, 0, 1u, 2u), (type, flags, id, length));
            byte[] body = new byte[2];
            await raw.ReadExactlyAsync(body).AsTask().WaitAsync(Timeout);
            Assert.Equal("ok"u8.ToArray(), body);
            (type, flags, id, _) = await ReadFrameAsync(raw);
            Assert.Equal((WindowUpdate, Fin, 1u), (type, flags, id));
        }
    }

    [Fact]
    public async Task Data_with_syn_opens_a_stream()
    {
        var (raw, server) = await CreateAsync();
        await using (raw)
        await using (server)
        {
            await raw.WriteAsync(Frame(Data, Syn, 3, 3));
            await raw.WriteAsync("abc"u8.ToArray());
            var stream = (await server.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;
            byte[] buffer = new byte[3];
            await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Timeout);
            Assert.Equal("abc"u8.ToArray(), buffer);
        }
    }

    [Fact]
    public async Task Ping_syn_is_answered_with_ack_and_the_same_value()
    {
        var (raw, server) = await CreateAsync();
        await using (raw)
        await using (server)
        {
            await raw.WriteAsync(Frame(Ping, Syn, 0, 0xDEADBEEF));
            var (type, flags, id, opaque) = await ReadFrameAsync(raw);
            Assert.Equal((Ping, Ack, 0u, 0xDEADBEEFu), (type, flags, id, opaque));
        }
    }

    [Fact]
    public async Task Streams_past_the_accept_backlog_are_held_not_reset()
    {
        var (raw, server) = await CreateAsync(new YamuxOptions { AcceptBacklog = 1, MaxStreams = 4 });
        await using (raw)
        await using (server)
        {
            for (uint id = 1; id <= 7; id += 2) await raw.WriteAsync(Frame(WindowUpdate, Syn, id, 0));
            await raw.WriteAsync(Frame(Ping, Syn, 0, 9));
            // Nothing is reset: the first frame back is the pong, although three streams are past the backlog.
            var (type, flags, _, opaque) = await ReadFrameAsync(raw);
            Assert.Equal((Ping, Ack, 9u), (type, flags, opaque));
            Assert.Equal(4, server.PendingAcceptCount);
            for (uint id = 1; id <= 7; id += 2)
            {
                var stream = Assert.IsType<YamuxStream>(await server.AcceptStreamAsync().AsTask().WaitAsync(Timeout));
                Assert.Equal(id, stream.Id);
                (type, flags, uint acked, _) = await ReadFrameAsync(raw);
                Assert.Equal((WindowUpdate, Ack, id), (type, flags, acked));
            }
            Assert.Equal(0, server.PendingAcceptCount);
            Assert.False(server.Completion.IsCompleted);
        }
    }

    [Fact]
    public async Task Too_many_streams_are_reset()
    {
        var (raw, server) = await CreateAsync(new YamuxOptions { MaxStreams = 2 });
        await using (raw)
        await using (server)
        {
            for (uint id = 1; id <= 5; id += 2) await raw.WriteAsync(Frame(WindowUpdate, Syn, id, 0));
            var (type, flags, rejected, _) = await ReadFrameAsync(raw);
            Assert.Equal((WindowUpdate, Rst, 5u), (type, flags, rejected));
        }
    }

    [Fact]
    public async Task Frames_for_a_reset_stream_are_discarded()
    {
        var (raw, server) = await CreateAsync();
        await using (raw)
        await using (server)
        {
            await raw.WriteAsync(Frame(WindowUpdate, Syn, 1, 0));
            var stream = (await server.AcceptStreamAsync().AsTask().WaitAsync(Timeout))!;
            await ReadFrameAsync(raw); // ACK
            await raw.WriteAsync(Frame(WindowUpdate, Rst, 1, 0));
            var ex = await Assert.ThrowsAsync<YamuxException>(() => stream.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout));
            Assert.Equal(YamuxError.StreamReset, ex.Error);
            await raw.WriteAsync(Frame(Data, 0, 1, 5));
            await raw.WriteAsync(new byte[5]);
            await raw.WriteAsync(Frame(WindowUpdate, 0, 1, 100));
            await raw.WriteAsync(Frame(Ping, Syn, 0, 1));
            var (type, flags, _, _) = await ReadFrameAsync(raw);
            Assert.Equal((Ping, Ack), (type, flags));
            Assert.False(server.Completion.IsCompleted);
        }
    }

    [Fact]
    public async Task Dispose_sends_normal_go_away_and_closes()
    {
        var (raw, server) = await CreateAsync();
        await using (raw)
        {
            await server.DisposeAsync();
            var (type, _, id, code) = await ReadFrameAsync(raw);
            Assert.Equal((GoAway, 0u, 0u), (type, id, code));
            Assert.Equal(0, await raw.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout));
            await server.Completion.WaitAsync(Timeout);
        }
    }

    [Fact]
    public async Task Abrupt_end_inside_a_frame_is_a_lost_connection()
    {
        var (raw, server) = await CreateAsync();
        await using (server)
        {
            await raw.WriteAsync(Frame(Data, Syn, 1, 100));
            await raw.WriteAsync(new byte[10]);
            raw.Socket.Shutdown(SocketShutdown.Send);
            var ex = await Assert.ThrowsAsync<YamuxException>(() => server.Completion.WaitAsync(Timeout));
            Assert.Equal(YamuxError.ConnectionLost, ex.Error);
            await raw.DisposeAsync();
        }
    }

    [Fact]
    public async Task Unanswered_keep_alive_ends_the_session()
    {
        var options = new YamuxOptions { KeepAliveInterval = TimeSpan.FromMilliseconds(50), KeepAliveTimeout = TimeSpan.FromMilliseconds(200) };
        var (raw, server) = await CreateAsync(options);
        await using (raw)
        await using (server)
        {
            var (type, flags, _, _) = await ReadFrameAsync(raw);
            Assert.Equal((Ping, Syn), (type, flags));
            var ex = await Assert.ThrowsAsync<YamuxException>(() => server.Completion.WaitAsync(Timeout));
            Assert.Equal(YamuxError.KeepAliveTimeout, ex.Error);
        }
    }

    [Fact]
    public async Task Open_waits_while_the_ack_backlog_is_full()
    {
        var (raw, server) = await CreateAsync(new YamuxOptions { MaxAckBacklog = 2 });
        await using (raw)
        await using (server)
        {
            await server.OpenStreamAsync().AsTask().WaitAsync(Timeout);
            await server.OpenStreamAsync().AsTask().WaitAsync(Timeout);
            var third = server.OpenStreamAsync().AsTask();
            var (type, flags, id, _) = await ReadFrameAsync(raw);
            Assert.Equal((WindowUpdate, Syn, 2u), (type, flags, id));
            (type, flags, id, _) = await ReadFrameAsync(raw);
            Assert.Equal((WindowUpdate, Syn, 4u), (type, flags, id));
            Assert.False(third.IsCompleted);
            await raw.WriteAsync(Frame(WindowUpdate, Ack, 2, 0));
            var stream = (YamuxStream)await third.WaitAsync(Timeout);
            Assert.Equal(6u, stream.Id);
        }
    }
}
