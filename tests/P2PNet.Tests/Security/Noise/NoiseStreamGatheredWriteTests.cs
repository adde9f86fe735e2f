using System.Security.Cryptography;
using P2PNet.Core;
using P2PNet.Security.Noise;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Security.Noise;

/// <summary>Gathered writes (held until flush, each starting frames of its own) and the bounded reads of large frames.</summary>
public class NoiseStreamGatheredWriteTests
{
    private static readonly TimeSpan Timeout = NoisePair.Timeout;

    [Fact]
    public async Task Gathered_writes_start_frames_of_their_own_and_go_before_a_later_plain_write()
    {
        await using var pair = await TcpPairAsync();
        pair.Client.SendFramePlaintext = NoiseStream.MaxPlaintextPerFrame; // maximal frames, as other peers send
        IGatheringWriteStream gathering = pair.Client;
        byte[] header = RandomNumberGenerator.GetBytes(12);
        byte[] body = RandomNumberGenerator.GetBytes(NoiseStream.MaxPlaintextPerFrame + 17);
        await gathering.WriteGatheredAsync(header, CancellationToken.None);
        await gathering.WriteGatheredAsync(body, CancellationToken.None);
        await pair.Client.WriteAsync("tail"u8.ToArray()); // sends the held frames first, then its own
        byte[] buffer = new byte[256 * 1024];
        // One frame per read: the header alone, then the body's full frame and its 17-byte rest, then the tail.
        Assert.Equal(12, await pair.Server.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
        Assert.Equal(header, buffer[..12]);
        Assert.Equal(NoiseStream.MaxPlaintextPerFrame, await pair.Server.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
        Assert.True(body.AsSpan(0, NoiseStream.MaxPlaintextPerFrame).SequenceEqual(buffer.AsSpan(0, NoiseStream.MaxPlaintextPerFrame)));
        Assert.Equal(17, await pair.Server.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
        Assert.True(body.AsSpan(NoiseStream.MaxPlaintextPerFrame).SequenceEqual(buffer.AsSpan(0, 17)));
        Assert.Equal(4, await pair.Server.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
        Assert.Equal("tail"u8.ToArray(), buffer[..4]);
    }

    [Fact]
    public async Task A_large_write_is_sent_as_frames_of_the_default_size_whether_gathered_or_plain()
    {
        await using var pair = await TcpPairAsync();
        const int frame = NoiseStream.DefaultSendFramePlaintext;
        byte[] body = RandomNumberGenerator.GetBytes(2 * frame + 10);
        await ((IGatheringWriteStream)pair.Client).WriteGatheredAsync(body, CancellationToken.None);
        await pair.Client.WriteAsync(body); // sends the held frames first, then its own
        byte[] buffer = new byte[256 * 1024];
        // One frame per read: two full frames and the 10-byte rest, for each of the two writes.
        for (int write = 0; write < 2; write++)
        {
            int offset = 0;
            foreach (int expected in new[] { frame, frame, 10 })
            {
                Assert.Equal(expected, await pair.Server.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
                Assert.True(body.AsSpan(offset, expected).SequenceEqual(buffer.AsSpan(0, expected)));
                offset += expected;
            }
        }
    }

    [Fact]
    public async Task Held_frames_are_sent_by_flush()
    {
        await using var pair = await TcpPairAsync();
        await ((IGatheringWriteStream)pair.Client).WriteGatheredAsync("held"u8.ToArray(), CancellationToken.None);
        await pair.Client.FlushAsync();
        byte[] buffer = new byte[16];
        int n = await pair.Server.ReadAsync(buffer).AsTask().WaitAsync(Timeout);
        Assert.Equal("held"u8.ToArray(), buffer[..n]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Mixed_frame_sizes_and_read_sizes_keep_integrity(int seed)
    {
        // Small and full frames in every order, gathered and plain, flushed at random: the bounded inner reads must
        // complete every frame wherever it starts in the read buffer.
        const int size = 6 * 1024 * 1024;
        var random = new Random(seed);
        byte[] data = RandomNumberGenerator.GetBytes(size);
        await using var pair = await TcpPairAsync();
        if (seed == 3) pair.Client.SendFramePlaintext = NoiseStream.MaxPlaintextPerFrame; // as other peers may send
        var send = Task.Run(async () =>
        {
            IGatheringWriteStream gathering = pair.Client;
            int offset = 0;
            while (offset < size)
            {
                int n = Math.Min(size - offset, random.Next(4) switch
                {
                    0 => random.Next(1, 40),
                    1 => random.Next(40, 4096),
                    2 => NoiseStream.MaxPlaintextPerFrame,
                    _ => random.Next(4096, 3 * NoiseStream.MaxPlaintextPerFrame),
                });
                if (random.Next(3) == 0) await pair.Client.WriteAsync(data.AsMemory(offset, n));
                else await gathering.WriteGatheredAsync(data.AsMemory(offset, n), CancellationToken.None);
                if (random.Next(4) == 0) await pair.Client.FlushAsync();
                offset += n;
            }
            await pair.Client.FlushAsync();
        });
        var readRandom = new Random(seed + 100);
        byte[] received = new byte[size];
        int total = 0;
        while (total < size)
        {
            int want = readRandom.Next(2) == 0 ? readRandom.Next(1, 5000) : readRandom.Next(5000, 200_000);
            int n = await pair.Server.ReadAsync(received.AsMemory(total, Math.Min(want, size - total))).AsTask().WaitAsync(Timeout);
            Assert.NotEqual(0, n);
            total += n;
        }
        await send.WaitAsync(Timeout);
        Assert.True(data.AsSpan().SequenceEqual(received));
    }

    private static async Task<Pair> TcpPairAsync()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (clientInner, serverInner) = await LoopbackTcp.ConnectBufferedAsync();
        var (client, server) = await NoisePair.HandshakeAsync(clientInner, serverInner, alice, bob);
        return new Pair(client, server);
    }

    private sealed record Pair(NoiseStream Client, NoiseStream Server) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
        }
    }
}
