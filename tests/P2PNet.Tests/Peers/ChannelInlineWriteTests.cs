using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Tests.Support;
using static P2PNet.Tests.Peers.PeerTestNetwork;

namespace P2PNet.Tests.Peers;

/// <summary>
/// A channel's reply (packets came in since its last write, nothing else queued) runs the channel's writer on the replying
/// thread and leaves from it when yamux is idle; a stream of sends goes through the writer's own loop and yamux's write
/// loop. Real loopback TCP, Noise and yamux.
/// </summary>
public sealed class ChannelInlineWriteTests
{
    [Fact]
    public async Task Replies_go_inline_and_a_flood_of_sends_goes_through_the_muxers_write_loop()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        TaskCompletionSource? pong = null;
        b.MessageReceived += (_, e) =>
        {
            if (e.Message.StartsWith("ping", StringComparison.Ordinal)) Assert.True(inbound.TrySend(new PureMessagePacket("pong")));
        };
        a.MessageReceived += (_, e) =>
        {
            if (e.Message != "pong") return;
            pong?.TrySetResult();
        };

        long bBefore = inbound.MuxerInlineWrites;
        long bWokenBefore = inbound.WriterWokenBySender;
        for (int i = 0; i < 20; i++)
        {
            pong = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await outbound.SendAsync(new PureMessagePacket($"ping{i}"));
            await pong.Task.WaitAsync(Wait);
        }
        // Every pong is a reply to a ping; the muxer is idle between round trips, so most leave inline (an acknowledgement
        // timer or window update may be queued at the moment one is written).
        Assert.True(inbound.MuxerInlineWrites - bBefore >= 10, $"only {inbound.MuxerInlineWrites - bBefore} of 20 replies went inline");
        // The writer waits between round trips, so each pong (sent from B's handler) runs it on the handler's thread.
        Assert.True(inbound.WriterWokenBySender - bWokenBefore >= 10, $"only {inbound.WriterWokenBySender - bWokenBefore} of 20 replies ran the writer on the replying thread");

        // One way, nothing comes back but acknowledgements: at most the first batch (after the last pong) is a reply.
        var atB = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        b.MessageReceived += (_, e) =>
        {
            if (e.Message.StartsWith("flood", StringComparison.Ordinal) && Interlocked.Increment(ref atB) == 2000) all.TrySetResult();
        };
        long aBefore = outbound.MuxerInlineWrites;
        long aWokenBefore = outbound.WriterWokenBySender;
        for (int i = 0; i < 2000; i++) await outbound.SendAsync(new PureMessagePacket($"flood{i}"));
        await all.Task.WaitAsync(Wait);
        Assert.InRange(outbound.MuxerInlineWrites - aBefore, 0, 1);
        // Only a send after the last pong can be a reply; the rest wake the writer on the pool, if at all.
        Assert.InRange(outbound.WriterWokenBySender - aWokenBefore, 0, 1);
    }
}
