using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using static P2PNet.Tests.Peers.PeerTestNetwork;

namespace P2PNet.Tests.Peers;

/// <summary>Every way a channel closes leaves a <see cref="PeerChannel.CloseReason"/>, set before Completion.</summary>
public sealed class CloseReasonTests
{
    private static readonly TimeSpan FastRetry = TimeSpan.FromMilliseconds(20);

    private static async Task<string> ReasonAsync(PeerChannel channel)
    {
        await channel.Completion.WaitAsync(Wait);
        Assert.Equal(PeerChannelState.Closed, channel.State);
        Assert.False(string.IsNullOrEmpty(channel.CloseReason));
        return channel.CloseReason!;
    }

    private static async Task DropConnectionsAsync(PeerNetwork at, PeerId remote)
    {
        var connections = at.Host.Connections.Where(c => c.RemotePeerId == remote).ToList();
        Assert.NotEmpty(connections);
        foreach (var connection in connections) await connection.CloseAsync().AsTask().WaitAsync(Wait);
    }

    [Fact]
    public async Task An_inbound_channel_whose_connection_dropped_says_the_connection_closed()
    {
        await using var a = await StartAsync(o => o with { MaxConnectRetries = 0 });
        await using var b = await StartAsync();
        var (_, inbound) = await ConnectBothEndsAsync(a, b);

        await DropConnectionsAsync(a, b.Identifier); // no DisconnectPacket
        Assert.Contains("connection", await ReasonAsync(inbound), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_outbound_channel_without_retries_whose_connection_dropped_says_the_connection_closed()
    {
        await using var a = await StartAsync(o => o with { MaxConnectRetries = 0 });
        await using var b = await StartAsync();
        var (outbound, _) = await ConnectBothEndsAsync(a, b);

        await DropConnectionsAsync(b, a.Identifier);
        Assert.Contains("connection", await ReasonAsync(outbound), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_outbound_channel_that_gave_up_reconnecting_says_so_with_the_last_failure()
    {
        await using var a = await StartAsync(o => o with { MaxConnectRetries = 2, RetryBaseDelay = FastRetry });
        await using var b = await StartAsync();
        var (outbound, _) = await ConnectBothEndsAsync(a, b);

        await b.Host.DisposeAsync().AsTask().WaitAsync(Wait); // gone without a DisconnectPacket, listener too
        var reason = await ReasonAsync(outbound);
        Assert.StartsWith("gave up reconnecting: reconnect 2 failed", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Closing_locally_and_disposing_give_their_reasons()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var (outbound, _) = await ConnectBothEndsAsync(a, b);
        await outbound.ClosePeerChannelAsync("done").WaitAsync(Wait);
        Assert.Equal("done", await ReasonAsync(outbound));

        var (again, _) = await ConnectBothEndsAsync(a, b);
        await again.DisposeAsync().AsTask().WaitAsync(Wait);
        Assert.Equal("disposed", await ReasonAsync(again));
    }

    [Fact]
    public async Task Blocking_and_stopping_give_their_reasons_on_both_sides()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        await using var c = await StartAsync();
        var (toB, atB) = await ConnectBothEndsAsync(a, b);
        var (toC, atC) = await ConnectBothEndsAsync(a, c);

        b.BlockPeer(a.Identifier);
        Assert.Equal("blocked", await ReasonAsync(atB));
        Assert.Equal("peer disconnected: blocked", await ReasonAsync(toB));

        await c.StopAsync().WaitAsync(Wait);
        Assert.Equal("network stopping", await ReasonAsync(atC));
        Assert.Equal("peer disconnected: network stopping", await ReasonAsync(toC));
    }

    [Fact]
    public async Task A_protocol_violation_gives_its_reason()
    {
        await using var b = await StartAsync();
        using var identity = Identity.Generate();
        await using var host = new P2PNet.Swarm.SwarmHost(identity);
        var opened = Next<PeerChannel>(h => b.PeerAdded += h);
        var connection = await host.DialAsync(AddressOf(b)).WaitAsync(Wait);
        var stream = await connection.OpenStreamAsync(PeerChannel.ProtocolId).WaitAsync(Wait);
        await using (stream)
        {
            var frames = new System.Buffers.ArrayBufferWriter<byte>();
            PacketCodec.WriteHello(frames, new ChannelHello(identity.PeerId.ToString(), networkName: b.Options.NetworkName));
            await stream.WriteAsync(frames.WrittenMemory).AsTask().WaitAsync(Wait);
            var channel = await opened;
            frames.Clear();
            PacketCodec.WriteHello(frames, new ChannelHello(identity.PeerId.ToString(), networkName: b.Options.NetworkName)); // a second hello
            await stream.WriteAsync(frames.WrittenMemory).AsTask().WaitAsync(Wait);
            Assert.StartsWith("protocol violation: ", await ReasonAsync(channel), StringComparison.Ordinal);
        }
    }
}
