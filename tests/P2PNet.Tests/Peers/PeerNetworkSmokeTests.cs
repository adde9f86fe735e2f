using P2PNet.Peers;
using P2PNet.Peers.Packets;
using static P2PNet.Tests.Peers.PeerTestNetwork;

namespace P2PNet.Tests.Peers;

public sealed class PeerNetworkSmokeTests
{
    [Fact]
    public async Task Two_networks_open_a_channel_and_exchange_a_pure_message()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var added = Next<PeerChannel>(h => b.PeerAdded += h);
        var message = Next<PureMessageReceivedEventArgs>(h => b.MessageReceived += h);

        var channel = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        Assert.Equal(PeerChannelState.Open, channel.State);
        Assert.Equal(b.Identifier, channel.Identifier);
        var inbound = await added;
        Assert.Equal(a.Identifier, inbound.Identifier);

        await channel.SendAsync(new PureMessagePacket("hello b"));
        var received = await message;
        Assert.Equal("hello b", received.Message);
        Assert.Equal(a.Identifier, received.Sender);
        Assert.Contains(a.Identifier, b.KnownPeers.Select(p => p.Identifier));
        Assert.Single(a.ActivePeerChannels);
        Assert.Single(b.ActivePeerChannels);
    }
}
