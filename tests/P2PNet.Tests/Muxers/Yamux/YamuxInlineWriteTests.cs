using System.Security.Cryptography;
using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Security.Noise;
using P2PNet.Tests.Security.Noise;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Muxers.Yamux;

/// <summary>
/// Writes that nothing follows go from the caller straight to the connection when the session's writer is idle
/// (<see cref="YamuxSession.TryWriteInline"/>); the rest queue. Over Noise on loopback TCP, the connection they are made for.
/// </summary>
public class YamuxInlineWriteTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Inline_and_queued_writes_of_one_stream_arrive_whole_and_in_order()
    {
        await using var pair = await SecuredPairAsync();
        var random = new Random(7);
        byte[] data = RandomNumberGenerator.GetBytes(8 * 1024 * 1024);
        var accepting = pair.Server.AcceptStreamAsync().AsTask();
        await using var outbound = await pair.Client.OpenStreamAsync();
        await using var inbound = (await accepting.WaitAsync(Timeout))!;

        var reading = ReadAllAsync(inbound, data.Length);
        // Sizes from one byte to past a frame and past the inline limit, said to be followed or not at random: inline
        // and queued frames interleave, and a write that finds a frame queued (or the loop writing) queues behind it.
        for (int sent = 0; sent < data.Length;)
        {
            int size = Math.Min(data.Length - sent, random.Next(4) switch
            {
                0 => random.Next(1, 100),
                1 => random.Next(100, 9000),
                2 => random.Next(9000, 70_000),
                _ => random.Next(70_000, 200_000),
            });
            await outbound.WriteAsync(data.AsMemory(sent, size), moreFollows: random.Next(2) == 0, CancellationToken.None).AsTask().WaitAsync(Timeout);
            sent += size;
        }
        byte[] received = await reading.WaitAsync(Timeout);
        Assert.True(data.AsSpan().SequenceEqual(received), "the bytes arrived changed or out of order");
        Assert.True(pair.Client.InlineWrites > 0, "no write went inline");
    }

    [Fact]
    public async Task Cancelling_a_write_waiting_on_a_full_socket_leaves_the_frame_to_the_session_and_the_stream_usable()
    {
        // A window far larger than the socket's buffers: the writer stalls on the connection, not on yamux flow control.
        var options = new YamuxOptions { InitialWindowSize = 64 * 1024 * 1024 };
        await using var pair = await SecuredPairAsync(options);
        // And the acceptor's session buffers at most 1 MiB before it stops reading the connection (as a host's resource
        // limits make it): otherwise it drains the socket into the stream's large window, and the stalled write below
        // could complete before it is cancelled.
        pair.Server.SetBufferBudget(new FixedBudget(1024 * 1024));
        var accepting = pair.Server.AcceptStreamAsync().AsTask();
        await using var outbound = await pair.Client.OpenStreamAsync();
        await using var inbound = (await accepting.WaitAsync(Timeout))!;
        // The SYN went out and the stream's first bytes are read, so nothing is queued when the writes start; and the
        // acceptor's window update has come, so the window is the large one.
        await outbound.WriteAsync("hello"u8.ToArray(), moreFollows: false, CancellationToken.None);
        byte[] hello = new byte[5];
        await inbound.ReadExactlyAsync(hello).AsTask().WaitAsync(Timeout);
        var stream = (YamuxStream)outbound;
        await Poll.UntilAsync(() => stream.SendWindow > 32 * 1024 * 1024, Timeout, "the acceptor's window update");

        // Nobody reads now: write inline until a write waits on the full socket, then cancel that wait. The acceptor's
        // read loop may still be draining the socket toward its 1 MiB budget when a write first waits, and so complete
        // that write before the cancel reaches it: then that write counts as sent and the next one that waits is tried.
        byte[] chunk = RandomNumberGenerator.GetBytes(64 * 1024);
        long sent = 0;
        long inlineBefore = pair.Client.InlineWrites;
        int completedBeforeCancel = 0;
        while (true)
        {
            using var cancel = new CancellationTokenSource();
            Task stalled;
            while (true)
            {
                var write = outbound.WriteAsync(chunk, moreFollows: false, cancel.Token).AsTask();
                sent += chunk.Length;
                if (!write.IsCompleted)
                {
                    stalled = write;
                    break;
                }
                await write;
                Assert.True(sent < 48 * 1024 * 1024, "the socket never filled");
            }
            Assert.True(pair.Client.InlineWrites > inlineBefore, "the writes did not go inline");
            Assert.True(stream.SendWindow > 0, "the write waits on the window, not on the socket");
            await cancel.CancelAsync();
            try
            {
                await stalled.WaitAsync(Timeout);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            // It completed before the cancel: the reader drained the socket under it.
            completedBeforeCancel++;
            Assert.True(completedBeforeCancel < 20, "no waiting write was ever cancelled");
        }

        // The cancelled write's frame was encrypted already: it goes out once the reader drains, and the stream goes on.
        var reading = ReadAllAsync(inbound, sent + 4);
        await outbound.WriteAsync("tail"u8.ToArray()).AsTask().WaitAsync(Timeout);
        byte[] received = await reading.WaitAsync(Timeout);
        for (long offset = 0; offset < sent; offset += chunk.Length)
            Assert.True(chunk.AsSpan().SequenceEqual(received.AsSpan((int)offset, chunk.Length)), $"chunk at {offset} changed");
        Assert.Equal("tail"u8.ToArray(), received[^4..]);
        Assert.False(pair.Client.Completion.IsCompleted);
    }

    [Fact]
    public async Task A_gathered_write_that_does_not_fit_the_send_buffer_writes_nothing()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (clientInner, serverInner) = await LoopbackTcp.ConnectBufferedAsync();
        var (client, server) = await NoisePair.HandshakeAsync(clientInner, serverInner, alice, bob);
        await using var pair = new NoiseStreams(client, server);
        IGatheringWriteStream gathering = client;
        byte[] held = RandomNumberGenerator.GetBytes(200 * 1024);
        Assert.True(gathering.HasGatherRoom(held.Length, 1));
        Assert.True(gathering.TryWriteGathered(held, []));
        byte[] big = RandomNumberGenerator.GetBytes(100 * 1024);
        Assert.False(gathering.HasGatherRoom(big.Length, 1));
        Assert.False(gathering.TryWriteGathered("head"u8, big));
        await client.FlushAsync();
        Assert.True(gathering.TryWriteGathered("head"u8, big));
        await client.FlushAsync();

        var received = await ReadAllAsync(server, held.Length + 4 + big.Length).WaitAsync(Timeout);
        Assert.True(held.AsSpan().SequenceEqual(received.AsSpan(0, held.Length)));
        Assert.Equal("head"u8.ToArray(), received[held.Length..(held.Length + 4)]);
        Assert.True(big.AsSpan().SequenceEqual(received.AsSpan(held.Length + 4)));
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream, long length)
    {
        byte[] buffer = new byte[length];
        await stream.ReadExactlyAsync(buffer);
        return buffer;
    }

    private static async Task<SecuredPair> SecuredPairAsync(YamuxOptions? options = null)
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (clientInner, serverInner) = await LoopbackTcp.ConnectBufferedAsync();
        var (client, server) = await NoisePair.HandshakeAsync(clientInner, serverInner, alice, bob);
        return new SecuredPair(new YamuxSession(client, isClient: true, options), new YamuxSession(server, isClient: false, options));
    }

    /// <summary>A session's buffered bytes limited to <paramref name="limit"/> (one frame always passes while nothing is held).</summary>
    private sealed class FixedBudget(long limit) : IYamuxBufferBudget
    {
        private long _used;

        public bool TryReserve(int bytes, bool firstAttempt)
        {
            while (true)
            {
                long used = Volatile.Read(ref _used);
                if (used > 0 && used + bytes > limit) return false;
                if (Interlocked.CompareExchange(ref _used, used + bytes, used) == used) return true;
            }
        }

        public void Release(int bytes) => Interlocked.Add(ref _used, -bytes);
    }

    private sealed record NoiseStreams(NoiseStream Client, NoiseStream Server) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
        }
    }

    private sealed record SecuredPair(YamuxSession Client, YamuxSession Server) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
        }
    }
}
