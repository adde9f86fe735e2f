using P2PNet.Peers;
using P2PNet.Swarm;
using Xunit.Abstractions;
using static P2PNet.Tests.Peers.PeerTestNetwork;

namespace P2PNet.Tests.Peers;

/// <summary>Two nodes dialing each other at the same moment end up with one channel, not none.</summary>
public sealed class SimultaneousDialTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Both_dials_succeed_with_the_one_channel_dialed_by_the_lower_PeerId()
    {
        int collisions = 0;
        for (int round = 0; round < 15; round++)
        {
            await using var a = await StartAsync();
            await using var b = await StartAsync();
            var (low, high) = a.Identifier.Bytes.SequenceCompareTo(b.Identifier.Bytes) < 0 ? (a, b) : (b, a);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var fromLow = Task.Run(async () => { await start.Task; return await low.ConnectAsync(AddressOf(high)); });
            var fromHigh = Task.Run(async () => { await start.Task; return await high.ConnectAsync(AddressOf(low)); });
            start.SetResult();
            var channels = await Task.WhenAll(fromLow, fromHigh).WaitAsync(Wait);

            Assert.All(channels, c => Assert.Equal(PeerChannelState.Open, c.State));
            var atLow = Assert.Single(low.ActivePeerChannels);
            var atHigh = Assert.Single(high.ActivePeerChannels);
            Assert.Same(atLow, channels[0]);
            Assert.Same(atHigh, channels[1]);
            if (atLow.Direction == ConnectionDirection.Outbound && atHigh.Direction == ConnectionDirection.Inbound) collisions++;
            else Assert.True(atLow.Direction != atHigh.Direction, "the two ends of one channel have opposite directions");
            await SendAndAwaitMessageAsync(atHigh, low, "still works");
        }
        output.WriteLine($"{collisions} of 15 rounds kept the lower PeerId's dial");
    }
}
