using System.Buffers;
using System.Diagnostics;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Swarm;
using P2PNet.Tests.Support;
using static P2PNet.Tests.Peers.PeerTestNetwork;

namespace P2PNet.Tests.Peers;

/// <summary>
/// Refusals: the dialer learns the listener's reason (a refusal frame in place of its hello), a refused peer does
/// not stay in KnownPeers, a dial to ourselves fails before dialing, and a listener reads the dialer's hello within
/// HelloTimeout before placing it.
/// </summary>
public sealed class RefusalTests
{
    [Fact]
    public async Task A_dialer_rejected_by_the_application_gets_the_reason_and_is_not_known()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        b.IncomingPeerConnectionAttempt += (_, e) => e.Reject("no strangers");

        var ex = await Assert.ThrowsAsync<PeerNetworkException>(() => a.ConnectAsync(AddressOf(b)).WaitAsync(Wait));
        Assert.Equal(PeerNetworkError.Rejected, ex.Error);
        Assert.Contains("no strangers", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(a.Identifier, b.KnownPeers.Select(p => p.Identifier));
        Assert.DoesNotContain(b.Identifier, a.KnownPeers.Select(p => p.Identifier));
    }

    [Fact]
    public async Task A_dialer_rejected_from_the_queue_gets_the_reason_and_is_known_only_while_it_waits()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        b.TrustPolicy.IncomingPeerPlacement = IncomingPeerPlacement.QueueBased;
        var known = Next<IPeer>(h => b.KnownPeerAdded += h, p => p.Identifier == a.Identifier);

        var connect = a.ConnectAsync(AddressOf(b));
        var request = await b.InboundConnectingPeersQueue.DequeueAsync().AsTask().WaitAsync(Wait);
        await known; // known while it waits, as the seed orders it
        request.Reject("queue says no");

        var ex = await Assert.ThrowsAsync<PeerNetworkException>(() => connect.WaitAsync(Wait));
        Assert.Equal(PeerNetworkError.Rejected, ex.Error);
        Assert.Contains("queue says no", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(a.Identifier, b.KnownPeers.Select(p => p.Identifier));
    }

    [Fact]
    public async Task A_dialer_of_another_network_gets_WrongNetwork_and_neither_side_keeps_the_other()
    {
        await using var a = await StartAsync(o => o with { NetworkName = "red" });
        await using var b = await StartAsync(o => o with { NetworkName = "blue" });

        var ex = await Assert.ThrowsAsync<PeerNetworkException>(() => a.ConnectAsync(AddressOf(b)).WaitAsync(Wait));
        Assert.Equal(PeerNetworkError.WrongNetwork, ex.Error);
        Assert.Contains("'red'", ex.Message, StringComparison.Ordinal); // the listener's own words
        Assert.DoesNotContain(a.Identifier, b.KnownPeers.Select(p => p.Identifier));
        Assert.DoesNotContain(b.Identifier, a.KnownPeers.Select(p => p.Identifier));
    }

    [Fact]
    public async Task A_dialer_blocked_by_identifier_gets_Blocked_instead_of_a_reset()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        b.BlockPeer(a.Identifier);

        var ex = await Assert.ThrowsAsync<PeerNetworkException>(() => a.ConnectAsync(AddressOf(b)).WaitAsync(Wait));
        Assert.Equal(PeerNetworkError.Blocked, ex.Error);
        Assert.Contains("blocked identifier", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(b.Identifier, a.KnownPeers.Select(p => p.Identifier));
    }

    [Fact]
    public async Task A_duplicate_channel_stream_from_a_P2PNet_dialer_is_answered_with_Duplicate()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        await ConnectBothEndsAsync(a, b);
        var connection = Assert.Single(a.Host.Connections);

        var stream = await connection.OpenStreamAsync(PeerChannel.ProtocolId).WaitAsync(Wait);
        await using (stream)
        {
            var frames = new ArrayBufferWriter<byte>();
            PacketCodec.WriteHello(frames, new ChannelHello(a.Identifier.ToString(), networkName: a.Options.NetworkName));
            await stream.WriteAsync(frames.WrittenMemory).AsTask().WaitAsync(Wait);
            var refusal = await ReadFirstPacketAsync(stream);
            var disconnect = Assert.IsType<DisconnectPacket>(refusal);
            Assert.Equal(nameof(PeerNetworkError.Duplicate), disconnect.Refusal);
            Assert.Contains("duplicate", disconnect.Reason, StringComparison.Ordinal);
        }
        Assert.True(connection.IsOpen);
    }

    [Fact]
    public async Task A_refusal_frame_round_trips_and_an_unknown_refusal_name_reads_as_Rejected()
    {
        var frame = new ArrayBufferWriter<byte>();
        PacketCodec.Write(frame, new DisconnectPacket("go away") { Refusal = "SomethingNew" });
        var buffer = new ReadOnlySequence<byte>(frame.WrittenMemory);
        Assert.True(PacketCodec.TryRead(ref buffer, out var packet));
        Assert.Equal("SomethingNew", Assert.IsType<DisconnectPacket>(packet).Refusal);
        Assert.DoesNotContain("refusal", PacketCodec.ToJson(new DisconnectPacket("bye")), StringComparison.Ordinal); // omitted when null

        // A listener of a newer version refusing for a reason we do not know.
        await using var b = await StartAsync();
        using var identity = Identity.Generate();
        await using var listener = new SwarmHost(identity);
        listener.SetStreamHandler(PeerChannel.ProtocolId, async (stream, _, ct) =>
        {
            var refusal = new ArrayBufferWriter<byte>();
            PacketCodec.Write(refusal, new DisconnectPacket("busy today") { Refusal = "SomethingNew" });
            await stream.WriteAsync(refusal.WrittenMemory, ct);
            await stream.CloseWriteAsync(ct);
            try
            {
                while (await stream.ReadAsync(new byte[64], ct) > 0) { }
            }
            catch (IOException)
            {
            }
        });
        var bound = await listener.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var ex = await Assert.ThrowsAsync<PeerNetworkException>(() => b.ConnectAsync(bound.WithPeerId(identity.PeerId)).WaitAsync(Wait));
        Assert.Equal(PeerNetworkError.Rejected, ex.Error);
        Assert.Contains("busy today", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dialing_ourselves_fails_before_any_dial_and_never_makes_us_known()
    {
        await using var a = await StartAsync();
        int connections = 0;
        a.Host.ConnectionOpened += (_, _) => Interlocked.Increment(ref connections);

        var byId = await Assert.ThrowsAsync<PeerNetworkException>(() => a.ConnectAsync(AddressOf(a)).WaitAsync(Wait));
        var byAddress = await Assert.ThrowsAsync<PeerNetworkException>(() => a.ConnectAsync(a.ListenAddresses[0]).WaitAsync(Wait));
        var byEndPoint = await Assert.ThrowsAsync<PeerNetworkException>(() => a.ConnectAsync(a.ListenAddresses[0].ToIPEndPoint()!).WaitAsync(Wait));

        Assert.All([byId, byAddress, byEndPoint], ex => Assert.Equal(PeerNetworkError.Self, ex.Error));
        Assert.Equal(0, connections);
        Assert.Empty(a.KnownPeers);
    }

    [Fact]
    public async Task Dialing_ourselves_on_an_address_not_listed_fails_as_Self_without_making_us_known()
    {
        // Listening on every interface: 127.0.0.2 reaches us but is not one of the listed addresses.
        await using var a = await StartAsync(o => o with { ListenAddresses = [Multiaddr.Parse("/ip4/0.0.0.0/tcp/0")] });
        int port = a.ListenAddresses[0].ToIPEndPoint()!.Port;
        var other = new System.Net.IPEndPoint(System.Net.IPAddress.Parse("127.0.0.2"), port);
        if (a.ListenAddresses.Any(l => other.Equals(l.ToIPEndPoint()))) return; // listed after all: covered above

        var ex = await Assert.ThrowsAsync<PeerNetworkException>(() => a.ConnectAsync(other).WaitAsync(Wait));
        Assert.Equal(PeerNetworkError.Self, ex.Error);
        Assert.Empty(a.KnownPeers);
    }

    [Fact]
    public async Task A_connect_right_after_a_refusal_never_picks_up_the_dying_connection()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        int attempts = 0;
        b.IncomingPeerConnectionAttempt += (_, e) =>
        {
            if (Interlocked.Increment(ref attempts) % 2 == 1) e.Reject("odd attempt");
        };

        for (int round = 0; round < 20; round++)
        {
            var ex = await Assert.ThrowsAsync<PeerNetworkException>(() => a.ConnectAsync(AddressOf(b)).WaitAsync(Wait));
            Assert.Equal(PeerNetworkError.Rejected, ex.Error);
            var channel = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait); // at once, no pause
            Assert.Equal(PeerChannelState.Open, channel.State);
            var removed = Next<PeerChannel>(h => b.PeerRemoved += h, c => c.Identifier == a.Identifier);
            await channel.ClosePeerChannelAsync("round done").WaitAsync(Wait);
            await removed;
        }
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("packet-first")]
    [InlineData("other-identifier")]
    [InlineData("other-network")]
    [InlineData("closed-early")]
    public async Task A_peer_refused_at_its_hello_is_never_placed_nor_known(string misbehaviour)
    {
        var log = new CapturingLoggerProvider();
        await using var b = await StartAsync(log: log);
        int attempts = 0;
        b.IncomingPeerConnectionAttempt += (_, _) => Interlocked.Increment(ref attempts);
        b.KnownPeerAdded += (_, _) => Interlocked.Increment(ref attempts);
        using var identity = Identity.Generate();
        using var someoneElse = Identity.Generate();
        await using var host = new SwarmHost(identity);
        var connection = await host.DialAsync(AddressOf(b)).WaitAsync(Wait);
        var stream = await connection.OpenStreamAsync(PeerChannel.ProtocolId).WaitAsync(Wait);
        await using (stream)
        {
            var frames = new ArrayBufferWriter<byte>();
            switch (misbehaviour)
            {
                case "garbage": frames.Write("\u0003\u00ff\u00ff\u00ffnot a frame"u8); break;
                case "packet-first": PacketCodec.Write(frames, new PureMessagePacket("hello?")); break;
                case "other-identifier": PacketCodec.WriteHello(frames, new ChannelHello(someoneElse.PeerId.ToString(), networkName: b.Options.NetworkName)); break;
                case "other-network": PacketCodec.WriteHello(frames, new ChannelHello(identity.PeerId.ToString(), networkName: "elsewhere")); break;
            }
            if (frames.WrittenCount > 0) await stream.WriteAsync(frames.WrittenMemory).AsTask().WaitAsync(Wait);
            if (misbehaviour == "closed-early") await stream.CloseWriteAsync().AsTask().WaitAsync(Wait);
            await log.WaitForAsync(m => m.StartsWith($"Refused {identity.PeerId} at ", StringComparison.Ordinal), Wait);
        }
        await connection.Completion.WaitAsync(Wait); // the listener closed it
        Assert.Equal(0, attempts);
        Assert.DoesNotContain(identity.PeerId, b.KnownPeers.Select(p => p.Identifier));
        Assert.Empty(b.ActivePeerChannels);
    }

    [Fact]
    public async Task A_refused_peer_that_was_known_before_keeps_its_entry()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var heardOf = b.AddKnownPeer(a.Identifier, [a.ListenAddresses[0]], "bootstrap");
        Assert.NotNull(heardOf);
        b.IncomingPeerConnectionAttempt += (_, e) => e.Reject("not now");

        var ex = await Assert.ThrowsAsync<PeerNetworkException>(() => a.ConnectAsync(AddressOf(b)).WaitAsync(Wait));
        Assert.Equal(PeerNetworkError.Rejected, ex.Error);
        Assert.Same(heardOf, Assert.Single(b.KnownPeers, p => p.Identifier == a.Identifier));
    }

    [Fact]
    public async Task A_peer_refused_by_the_trust_protocol_is_not_known_on_either_side()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        b.TrustPolicy.RunDefaultTrustProtocol = true;
        b.TrustPolicy.DefaultTrustProtocol = (channel, ct) => channel.ClosePeerChannelAsync("you are not trusted", ct);
        var refusedAtB = Next<PeerChannel>(h => b.ChannelOpening += h);

        try
        {
            await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        }
        catch (PeerNetworkException)
        {
            // Whether the dialer's own activation saw the close first depends on timing; the outcome below does not.
        }
        var atB = await refusedAtB;
        await atB.Completion.WaitAsync(Wait);
        Assert.Equal("you are not trusted", atB.CloseReason);
        // Forgotten once the refused activation has unwound, just after the channel closed.
        await Poll.UntilAsync(() => !b.KnownPeers.Any(p => p.Identifier == a.Identifier), Wait, "b forgets a");
    }

    [Fact]
    public async Task A_peer_that_never_sends_its_hello_loses_the_stream_after_HelloTimeout_and_is_never_placed()
    {
        var log = new CapturingLoggerProvider();
        await using var b = await StartAsync(o => o with { HelloTimeout = TimeSpan.FromMilliseconds(500) }, log);
        int attempts = 0;
        b.IncomingPeerConnectionAttempt += (_, _) => Interlocked.Increment(ref attempts);
        using var identity = Identity.Generate();
        await using var host = new SwarmHost(identity);
        var connection = await host.DialAsync(AddressOf(b)).WaitAsync(Wait);
        var clock = Stopwatch.StartNew();
        var stream = await connection.OpenStreamAsync(PeerChannel.ProtocolId).WaitAsync(Wait);
        await using (stream)
        {
            // Silent: the listener must give up on its own.
            await log.WaitForAsync(m => m.StartsWith($"Refused {identity.PeerId} at ", StringComparison.Ordinal) && m.Contains("no hello", StringComparison.Ordinal), Wait);
        }
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(8));
        await connection.Completion.WaitAsync(Wait);
        Assert.Equal(0, attempts);
        Assert.Empty(b.KnownPeers);
    }

    [Fact]
    public async Task The_dialers_wait_through_a_slow_decision_is_bounded_by_ChannelOpenTimeout_not_HelloTimeout()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync(o => o with { HelloTimeout = TimeSpan.FromMilliseconds(300) });
        b.TrustPolicy.IncomingPeerPlacement = IncomingPeerPlacement.QueueBased;

        var connect = a.ConnectAsync(AddressOf(b));
        var request = await b.InboundConnectingPeersQueue.DequeueAsync().AsTask().WaitAsync(Wait);
        // The application takes longer than HelloTimeout to decide: the dialer is still waiting, not refused.
        Assert.NotSame(connect, await Task.WhenAny(connect, Task.Delay(TimeSpan.FromSeconds(1))));
        request.Accept();

        var channel = await connect.WaitAsync(Wait);
        Assert.Equal(PeerChannelState.Open, channel.State);
    }

    [Fact]
    public async Task HelloTimeout_defaults_to_ten_seconds() =>
        Assert.Equal(TimeSpan.FromSeconds(10), new PeerNetworkOptions().HelloTimeout);

    private static async Task<NetworkPacket> ReadFirstPacketAsync(Stream stream)
    {
        var received = new ArrayBufferWriter<byte>();
        while (true)
        {
            var memory = received.GetMemory(256);
            int n = await stream.ReadAsync(memory).AsTask().WaitAsync(Wait);
            Assert.NotEqual(0, n);
            received.Advance(n);
            var buffer = new ReadOnlySequence<byte>(received.WrittenMemory);
            if (PacketCodec.TryReadFrame(ref buffer, out var hello, out var packet))
            {
                Assert.Null(hello);
                return packet!;
            }
        }
    }
}
