using P2PNet.Tests.Support;

namespace P2PNet.Tests.Transports;

/// <summary>The TCP read buffer is rented only while it holds bytes.</summary>
public class ReadBufferedStreamTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Small_reads_rent_while_bytes_wait_and_return_when_drained()
    {
        var (client, buffered) = await LoopbackTcp.ConnectBufferedAsync();
        await using var _ = client;
        await using var __ = buffered;
        Assert.False(buffered.HoldsBuffer);

        byte[] one = new byte[1];
        var pending = buffered.ReadAsync(one).AsTask();
        await Task.Yield();
        Assert.False(pending.IsCompleted);
        Assert.False(buffered.HoldsBuffer); // waiting on a zero-byte read

        await client.WriteAsync(new byte[] { 1, 2, 3 });
        Assert.Equal(1, await pending.WaitAsync(Timeout));
        // The rest of the segment arrived with the first byte and is served from the buffer.
        await Poll.UntilAsync(() => buffered.BufferedBytes == 2, Timeout, "the segment to be buffered");
        Assert.True(buffered.HoldsBuffer);
        byte[] two = new byte[4];
        Assert.Equal(2, await buffered.ReadAsync(two).AsTask().WaitAsync(Timeout));
        Assert.Equal(new byte[] { 2, 3 }, two[..2]);
        Assert.False(buffered.HoldsBuffer);

        // A zero-byte read passes through: it completes once bytes are there, without renting.
        var wait = buffered.ReadAsync(Memory<byte>.Empty).AsTask();
        await Task.Yield();
        Assert.False(wait.IsCompleted);
        await client.WriteAsync(new byte[] { 4 });
        Assert.Equal(0, await wait.WaitAsync(Timeout));
        Assert.False(buffered.HoldsBuffer);
        Assert.Equal(1, await buffered.ReadAsync(one).AsTask().WaitAsync(Timeout));
        Assert.Equal(4, one[0]);

        client.Close();
        Assert.Equal(0, await buffered.ReadAsync(one).AsTask().WaitAsync(Timeout));
        Assert.False(buffered.HoldsBuffer);
    }
}
