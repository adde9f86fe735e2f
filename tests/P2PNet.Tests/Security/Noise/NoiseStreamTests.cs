using System.Security.Cryptography;
using P2PNet.Core;
using P2PNet.Security.Noise;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Security.Noise;

public class NoiseStreamTests
{
    private static readonly TimeSpan Timeout = NoisePair.Timeout;

    [Fact]
    public async Task Large_transfer_over_tcp_keeps_integrity_both_ways()
    {
        const int size = 8 * 1024 * 1024;
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (clientInner, serverInner) = await LoopbackTcp.ConnectAsync();
        var (client, server) = await NoisePair.HandshakeAsync(clientInner, serverInner, alice, bob);
        await using (client)
        await using (server)
        {
            byte[] up = RandomNumberGenerator.GetBytes(size);
            byte[] down = RandomNumberGenerator.GetBytes(size);
            // One big write one way; odd-sized writes the other way; odd-sized reads both ways.
            var sends = Task.WhenAll(
                client.WriteAsync(up).AsTask(),
                Task.Run(async () =>
                {
                    for (int offset = 0; offset < size; offset += 100_003)
                        await server.WriteAsync(down.AsMemory(offset, Math.Min(100_003, size - offset)));
                }));
            var receivedUp = ReadAllAsync(server, size, 7_001);
            var receivedDown = ReadAllAsync(client, size, 1 << 20);
            await Task.WhenAll(sends, receivedUp, receivedDown).WaitAsync(Timeout);
            byte[] gotUp = await receivedUp;
            byte[] gotDown = await receivedDown;
            Assert.True(up.AsSpan().SequenceEqual(gotUp));
            Assert.True(down.AsSpan().SequenceEqual(gotDown));
        }
    }

    [Fact]
    public async Task Small_reads_are_served_from_buffered_plaintext_and_never_exceed_the_request()
    {
        var (client, server) = await PipePairAsync();
        await using (client)
        await using (server)
        {
            byte[] data = RandomNumberGenerator.GetBytes(NoiseStream.MaxPlaintextPerFrame + 10);
            // The pipe applies backpressure at 64 KiB, so write while reading.
            var write = client.WriteAsync(data).AsTask();
            byte[] received = new byte[data.Length];
            int total = 0;
            byte[] small = new byte[3];
            while (total < data.Length)
            {
                int n = await server.ReadAsync(small).AsTask().WaitAsync(Timeout);
                Assert.InRange(n, 1, 3);
                small.AsSpan(0, n).CopyTo(received.AsSpan(total));
                total += n;
            }
            Assert.Equal(data, received);
            await write.WaitAsync(Timeout);
        }
    }

    [Fact]
    public async Task Sync_read_and_write_work()
    {
        var (client, server) = await PipePairAsync();
        await using (client)
        await using (server)
        {
            client.Write("sync"u8);
            byte[] buffer = new byte[10];
            int n = await Task.Run(() => server.Read(buffer, 0, buffer.Length)).WaitAsync(Timeout);
            Assert.Equal("sync"u8.ToArray(), buffer[..n]);
        }
    }

    [Fact]
    public async Task Corrupted_frame_is_DecryptFailed_and_the_stream_stays_failed()
    {
        var (client, server) = await PipePairAsync();
        await using (client)
        await using (server)
        {
            byte[] frame = [0x00, 0x20, .. RandomNumberGenerator.GetBytes(32)];
            await client.Inner.WriteAsync(frame);
            byte[] buffer = new byte[64];
            var ex = await Assert.ThrowsAsync<NoiseException>(() => server.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
            Assert.Equal(NoiseError.DecryptFailed, ex.Error);

            await client.WriteAsync("genuine"u8.ToArray());
            ex = await Assert.ThrowsAsync<NoiseException>(() => server.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
            Assert.Equal(NoiseError.DecryptFailed, ex.Error);
        }
    }

    [Fact]
    public async Task Maximum_size_garbage_frame_is_DecryptFailed()
    {
        var (client, server) = await PipePairAsync();
        await using (client)
        await using (server)
        {
            byte[] frame = [0xff, 0xff, .. RandomNumberGenerator.GetBytes(ushort.MaxValue)];
            var write = client.Inner.WriteAsync(frame).AsTask();
            var ex = await Assert.ThrowsAsync<NoiseException>(() => server.ReadAsync(new byte[16]).AsTask().WaitAsync(Timeout));
            Assert.Equal(NoiseError.DecryptFailed, ex.Error);
            await write.WaitAsync(Timeout);
        }
    }

    [Fact]
    public async Task Frame_shorter_than_a_tag_is_DecryptFailed()
    {
        var (client, server) = await PipePairAsync();
        await using (client)
        await using (server)
        {
            await client.Inner.WriteAsync(new byte[] { 0x00, 0x05, 1, 2, 3, 4, 5 });
            var ex = await Assert.ThrowsAsync<NoiseException>(() => server.ReadAsync(new byte[16]).AsTask().WaitAsync(Timeout));
            Assert.Equal(NoiseError.DecryptFailed, ex.Error);
        }
    }

    [Fact]
    public async Task End_of_stream_is_0_between_frames_and_Truncated_inside_one()
    {
        var (client, server) = await PipePairAsync();
        await using (server)
        {
            await client.WriteAsync("last words"u8.ToArray());
            await client.Inner.WriteAsync(new byte[] { 0x00, 0x40, 1, 2, 3 });
            await client.DisposeAsync();
            byte[] buffer = new byte[64];
            int n = await server.ReadAsync(buffer).AsTask().WaitAsync(Timeout);
            Assert.Equal("last words"u8.ToArray(), buffer[..n]);
            var ex = await Assert.ThrowsAsync<NoiseException>(() => server.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
            Assert.Equal(NoiseError.Truncated, ex.Error);
        }

        (client, server) = await PipePairAsync();
        await using (server)
        {
            await client.DisposeAsync();
            Assert.Equal(0, await server.ReadAsync(new byte[8]).AsTask().WaitAsync(Timeout));
        }
    }

    [Fact]
    public async Task Dispose_is_idempotent_and_disposes_the_inner_stream()
    {
        var (client, server) = await PipePairAsync();
        await client.DisposeAsync();
        await client.DisposeAsync();
        client.Dispose();
        Assert.False(client.CanRead);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.WriteAsync(new byte[1]).AsTask());
        // The peer sees the inner stream close.
        Assert.Equal(0, await server.ReadAsync(new byte[8]).AsTask().WaitAsync(Timeout));
        server.Dispose();
    }

    private static async Task<(NoiseStream Client, NoiseStream Server)> PipePairAsync()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (a, b) = DuplexPipeStream.CreatePair();
        return await NoisePair.HandshakeAsync(a, b, alice, bob);
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream, int size, int chunk)
    {
        byte[] result = new byte[size];
        int total = 0;
        while (total < size)
        {
            int n = await stream.ReadAsync(result.AsMemory(total, Math.Min(chunk, size - total)));
            if (n == 0) throw new EndOfStreamException();
            total += n;
        }
        return result;
    }
}
