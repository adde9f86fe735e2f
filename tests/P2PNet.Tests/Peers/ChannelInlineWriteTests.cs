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
        var pings = await PingPong.StartAsync(a, b);
        var (outbound, inbound) = (pings.Outbound, pings.Inbound);

        long bBefore = inbound.MuxerInlineWrites;
        long bWokenBefore = inbound.WriterWokenBySender;
        await pings.RunAsync(20);
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

    [Fact]
    public async Task A_reply_written_by_the_handler_of_a_request_carries_its_acknowledgement()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var pings = await PingPong.StartAsync(a, b);
        var (outbound, inbound) = (pings.Outbound, pings.Inbound);

        long loneBefore = inbound.LoneAcksWritten;
        long wokenBefore = inbound.WriterWokenBySender;
        const int rounds = 300;
        await pings.RunAsync(rounds);
        long woken = inbound.WriterWokenBySender - wokenBefore;
        long lone = inbound.LoneAcksWritten - loneBefore;
        // Each pong written on its ping's handler thread acknowledges that ping, so B's acknowledgement timer finds nothing
        // to send alone. (Acknowledging only up to the ping before, it sent one lone acknowledgement per millisecond of
        // the exchange: dozens here.) A pong that found B's writer busy leaves later without it; that costs at most one
        // lone acknowledgement each.
        Assert.True(woken >= rounds / 2, $"only {woken} of {rounds} pongs ran the writer on the handler's thread");
        Assert.True(lone <= rounds - woken + 2, $"B wrote {lone} lone acknowledgements in {rounds} round trips ({woken} pongs written inline)");
        // Nothing is left unacknowledged on either side once the exchange stops (the last ping's rode on the last pong).
        await Poll.UntilAsync(() => outbound.PacketsUnacknowledged == 0 && inbound.PacketsUnacknowledged == 0, Wait, "both sides acknowledged");
    }

    /// <summary>A's channel to B pings; B's handler answers each ping with a pong on the same channel, from its own thread.</summary>
    private sealed class PingPong
    {
        private TaskCompletionSource? _pong;

        private PingPong(PeerChannel outbound, PeerChannel inbound) => (Outbound, Inbound) = (outbound, inbound);

        public PeerChannel Outbound { get; }

        public PeerChannel Inbound { get; }

        public static async Task<PingPong> StartAsync(PeerNetwork a, PeerNetwork b)
        {
            var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
            var pings = new PingPong(outbound, inbound);
            b.MessageReceived += (_, e) =>
            {
                if (e.Message.StartsWith("ping", StringComparison.Ordinal)) Assert.True(inbound.TrySend(new PureMessagePacket("pong")));
            };
            a.MessageReceived += (_, e) =>
            {
                if (e.Message == "pong") pings._pong?.TrySetResult();
            };
            return pings;
        }

        /// <summary>Round trips one at a time: each ping waits for its pong.</summary>
        public async Task RunAsync(int rounds)
        {
            for (int i = 0; i < rounds; i++)
            {
                _pong = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                await Outbound.SendAsync(new PureMessagePacket($"ping{i}"));
                await _pong.Task.WaitAsync(Wait);
            }
        }
    }
}
