using System.Security.Cryptography;
using P2PNet.Core;
using P2PNet.Security.Noise;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Security.Noise;

/// <summary>The read buffer is rented while bytes are in flight and returned when a read drains it (zero-byte reads).</summary>
public class NoiseStreamIdleBufferTests
{
    private static readonly TimeSpan Timeout = NoisePair.Timeout;

    [Fact]
    public async Task An_idle_stream_with_a_pending_read_holds_no_read_buffer()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (clientInner, serverInner) = await LoopbackTcp.ConnectBufferedAsync();
        var (client, server) = await NoisePair.HandshakeAsync(clientInner, serverInner, alice, bob);
        await using (client)
        await using (server)
        {
            Assert.False(server.HoldsReadBuffer);
            byte[] buffer = new byte[1024];
            var pending = server.ReadAsync(buffer).AsTask();
            await Task.Yield();
            Assert.False(pending.IsCompleted);
            Assert.False(server.HoldsReadBuffer); // waiting on a zero-byte read, not on a rented buffer

            byte[] message = RandomNumberGenerator.GetBytes(300);
            await client.WriteAsync(message);
            int n = await pending.WaitAsync(Timeout);
            Assert.Equal(300, n);
            Assert.True(message.AsSpan().SequenceEqual(buffer.AsSpan(0, n)));
            Assert.Equal(0, server.BufferedBytes);
            Assert.False(server.HoldsReadBuffer); // drained: back in the pool
        }
    }

    [Fact]
    public async Task A_frame_larger_than_the_read_keeps_the_buffer_until_it_is_drained()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (clientInner, serverInner) = await LoopbackTcp.ConnectBufferedAsync();
        var (client, server) = await NoisePair.HandshakeAsync(clientInner, serverInner, alice, bob);
        await using (client)
        await using (server)
        {
            // One maximal frame (65,519 plaintext bytes; peers may send them, ours are smaller by default) read in small pieces.
            client.SendFramePlaintext = NoiseStream.MaxPlaintextPerFrame;
            byte[] message = RandomNumberGenerator.GetBytes(NoiseStream.MaxPlaintextPerFrame);
            await client.WriteAsync(message);
            byte[] got = new byte[message.Length];
            int offset = 0;
            while (offset < got.Length)
            {
                int n = await server.ReadAsync(got.AsMemory(offset, Math.Min(1000, got.Length - offset))).AsTask().WaitAsync(Timeout);
                Assert.True(n > 0);
                offset += n;
                Assert.Equal(offset < got.Length, server.HoldsReadBuffer);
            }
            Assert.True(message.AsSpan().SequenceEqual(got));
            Assert.False(server.HoldsReadBuffer);
        }
    }

    [Fact]
    public async Task A_zero_byte_read_waits_for_data_without_renting()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (clientInner, serverInner) = await LoopbackTcp.ConnectBufferedAsync();
        var (client, server) = await NoisePair.HandshakeAsync(clientInner, serverInner, alice, bob);
        await using (client)
        await using (server)
        {
            var wait = server.ReadAsync(Memory<byte>.Empty).AsTask();
            await Task.Yield();
            Assert.False(wait.IsCompleted);
            await client.WriteAsync(new byte[] { 1, 2, 3 });
            Assert.Equal(0, await wait.WaitAsync(Timeout));
            Assert.False(server.HoldsReadBuffer);
            byte[] got = new byte[3];
            Assert.Equal(3, await server.ReadAsync(got).AsTask().WaitAsync(Timeout));
            Assert.Equal(new byte[] { 1, 2, 3 }, got);
            Assert.False(server.HoldsReadBuffer);
        }
    }

    [Fact]
    public async Task Many_frames_in_one_segment_and_a_split_frame_are_read_correctly()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (clientInner, serverInner) = await LoopbackTcp.ConnectBufferedAsync();
        var (client, server) = await NoisePair.HandshakeAsync(clientInner, serverInner, alice, bob);
        await using (client)
        await using (server)
        {
            client.SendFramePlaintext = NoiseStream.MaxPlaintextPerFrame; // maximal frames, as other peers send
            byte[] data = RandomNumberGenerator.GetBytes(3 * NoiseStream.MaxPlaintextPerFrame + 12_345);
            var send = client.WriteAsync(data).AsTask();
            byte[] got = new byte[data.Length];
            int offset = 0;
            while (offset < got.Length)
            {
                int n = await server.ReadAsync(got.AsMemory(offset, Math.Min(40_000, got.Length - offset))).AsTask().WaitAsync(Timeout);
                Assert.True(n > 0);
                offset += n;
            }
            await send.WaitAsync(Timeout);
            Assert.True(data.AsSpan().SequenceEqual(got));
            Assert.False(server.HoldsReadBuffer);
        }
    }
}
