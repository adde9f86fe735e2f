using System.Net;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Tests.Support;
using static P2PNet.Tests.Peers.PeerTestNetwork;

namespace P2PNet.Tests.Peers;

/// <summary>IncomingPeerTrustPolicy: the flags and their defaults, receiver-side enforcement, elevation, the trust protocol, block lists.</summary>
public sealed class TrustPolicyTests
{
    [Fact]
    public void Defaults_follow_the_seed()
    {
        var policy = new IncomingPeerTrustPolicy();
        Assert.True(policy.AllowDefaultCommunication);
        Assert.False(policy.AllowEnhancedPacketExchange);
        Assert.False(policy.RunDefaultTrustProtocol);
        Assert.Null(policy.DefaultTrustProtocol);
        Assert.Equal(IncomingPeerPlacement.EventBased, policy.IncomingPeerPlacement);
        Assert.Empty(policy.BlockedIPs);
        Assert.Empty(policy.BlockedIdentifiers);
        Assert.Equal(PeerTrustLevel.Default, policy.InitialTrustLevel);
    }

    [Theory]
    [InlineData(PacketType.PureMessage, PeerTrustLevel.Default)]
    [InlineData(PacketType.Disconnect, PeerTrustLevel.Default)]
    [InlineData(PacketType.Identity, PeerTrustLevel.Enhanced)]
    [InlineData(PacketType.CollectionShare, PeerTrustLevel.Enhanced)]
    [InlineData(PacketType.DataTransmission, PeerTrustLevel.Enhanced)]
    public void Default_communication_is_pure_message_and_disconnect_and_everything_else_is_enhanced(PacketType type, PeerTrustLevel required) =>
        Assert.Equal(required, IncomingPeerTrustPolicy.RequiredLevel(type));

    [Theory]
    [InlineData(true, false, PeerTrustLevel.Default)]
    [InlineData(true, true, PeerTrustLevel.Enhanced)]
    [InlineData(false, true, PeerTrustLevel.Enhanced)]
    [InlineData(false, false, PeerTrustLevel.None)]
    public async Task A_new_channel_starts_at_the_level_of_the_flags(bool allowDefault, bool allowEnhanced, PeerTrustLevel expected)
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        b.TrustPolicy.AllowDefaultCommunication = allowDefault;
        b.TrustPolicy.AllowEnhancedPacketExchange = allowEnhanced;
        Assert.Equal(expected, b.TrustPolicy.InitialTrustLevel);

        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        Assert.Equal(expected, inbound.TrustLevel);
        Assert.Equal(PeerTrustLevel.Default, outbound.TrustLevel); // a's own defaults
    }

    [Fact]
    public async Task Default_policy_drops_enhanced_packets_before_any_delegate_or_event_counts_and_logs_them()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(log: log);
        var invoked = new List<string>();
        b.PacketHandleProtocol.HandleIdentityPacketAction = _ => invoked.Add("identity");
        b.PacketHandleProtocol.HandlePeerGroupPacketAction = _ => invoked.Add("group");
        b.PacketHandleProtocol.HandleDataTransmissionPacketAction = _ => invoked.Add("data");
        var dataReceived = new List<PacketType>();
        b.DataReceived += (_, e) => dataReceived.Add(e.Type);
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        var channelReceived = new List<PacketType>();
        inbound.DataReceived += (_, e) => channelReceived.Add(e.Type);
        // The network's DataReceived is the last thing raised for a packet.
        var message = Next<PacketReceivedEventArgs>(h => b.DataReceived += h, e => e.Type == PacketType.PureMessage);

        await outbound.SendAsync(new DataTransmissionPacket([1, 2, 3]));
        await outbound.SendAsync(new IdentityPacket(a.Identifier.ToString(), [], "mallory"));
        await outbound.SendAsync(new CollectionSharePacket([new PeerRecord(b.Identifier.ToString(), ["/ip4/127.0.0.1/tcp/1"])]));
        await outbound.SendAsync(new PureMessagePacket("after"));
        Assert.Equal("after", ((PureMessagePacket)(await message).Packet).Message); // same stream: everything before it was handled

        Assert.Empty(invoked);
        Assert.Equal([PacketType.PureMessage], dataReceived);
        Assert.Equal([PacketType.PureMessage], channelReceived);
        Assert.Equal(3, inbound.PacketsDropped);
        Assert.Equal(4, inbound.PacketsReceived);
        Assert.Null(b.KnownPeers.Single(p => p.Identifier == a.Identifier).DisplayName);
        foreach (var type in new[] { "DataTransmission", "Identity", "CollectionShare" })
            Assert.Contains(log.Entries, e => e.Message.StartsWith($"Dropped a {type} packet from {a.Identifier}: trust level Default is below Enhanced (1 of this type", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_flood_of_forbidden_packets_is_counted_in_full_but_logged_at_1_10_and_100()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(log: log);
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        var message = Next<PacketReceivedEventArgs>(h => b.DataReceived += h, e => e.Type == PacketType.PureMessage);
        for (int i = 0; i < 250; i++) await outbound.SendAsync(new DataTransmissionPacket([1]));
        await outbound.SendAsync(new PureMessagePacket("after"));
        await message;
        Assert.Equal(250, inbound.PacketsDropped);
        var lines = log.Entries.Where(e => e.Message.StartsWith($"Dropped a DataTransmission packet from {a.Identifier}", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Contains("(100 of this type dropped", lines[2].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enhanced_packets_are_dropped_until_the_receiver_elevates_and_again_after_it_demotes()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(log: log);
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        var data = new List<byte>();
        b.DataTransmissionReceived += (_, e) => data.Add(e.Packet.Data[0]);

        await outbound.SendAsync(new DataTransmissionPacket([1]));
        await SendAndAwaitMessageAsync(outbound, b, "1");
        Assert.Empty(data);
        Assert.Equal(1, inbound.PacketsDropped);

        inbound.ElevateTrust();
        Assert.Equal(PeerTrustLevel.Enhanced, inbound.TrustLevel);
        await outbound.SendAsync(new DataTransmissionPacket([2]));
        await SendAndAwaitMessageAsync(outbound, b, "2");
        Assert.Equal([2], data);

        inbound.DemoteTrust();
        Assert.Equal(PeerTrustLevel.Default, inbound.TrustLevel);
        await outbound.SendAsync(new DataTransmissionPacket([3]));
        await SendAndAwaitMessageAsync(outbound, b, "3");
        Assert.Equal([2], data);
        Assert.Equal(2, inbound.PacketsDropped);
        Assert.Contains(log.Entries, e => e.Message == $"Trust level of {a.Identifier} changed from Default to Enhanced");
        Assert.Contains(log.Entries, e => e.Message == $"Trust level of {a.Identifier} changed from Enhanced to Default");
    }

    [Fact]
    public async Task Elevation_never_lowers_and_demotion_never_raises()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var (outbound, _) = await ConnectBothEndsAsync(a, b);
        outbound.ElevateTrust(PeerTrustLevel.Enhanced);
        outbound.ElevateTrust(PeerTrustLevel.Default);
        Assert.Equal(PeerTrustLevel.Enhanced, outbound.TrustLevel);
        outbound.DemoteTrust(PeerTrustLevel.None);
        outbound.DemoteTrust(PeerTrustLevel.Default);
        Assert.Equal(PeerTrustLevel.None, outbound.TrustLevel);
    }

    [Fact]
    public async Task Without_default_communication_even_pure_messages_and_disconnects_are_dropped()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(log: log);
        b.TrustPolicy.AllowDefaultCommunication = false;
        var received = 0;
        b.DataReceived += (_, _) => Interlocked.Increment(ref received);
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        Assert.Equal(PeerTrustLevel.None, inbound.TrustLevel);

        await outbound.SendAsync(new PureMessagePacket("ignored"));
        await outbound.SendAsync(new DisconnectPacket("ignored too"));
        await log.WaitForAsync(m => m.StartsWith($"Dropped a Disconnect packet from {a.Identifier}: trust level None is below Default", StringComparison.Ordinal), Wait);

        Assert.Contains(log.Entries, e => e.Message.StartsWith($"Dropped a PureMessage packet from {a.Identifier}: trust level None is below Default", StringComparison.Ordinal));
        Assert.Equal(0, Volatile.Read(ref received));
        Assert.Equal(2, inbound.PacketsDropped);
        Assert.Equal(PeerChannelState.Open, inbound.State); // the dropped disconnect did not close it
    }

    [Fact]
    public async Task Enforcement_is_on_the_receiver_side()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        a.TrustPolicy.AllowEnhancedPacketExchange = true; // a accepts data, b does not
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        var atA = Next<DataTransmissionReceivedEventArgs>(h => a.DataTransmissionReceived += h);
        var bGotData = false;
        b.DataTransmissionReceived += (_, _) => bGotData = true;

        await inbound.SendAsync(new DataTransmissionPacket([7]));
        Assert.Equal([7], (await atA).Packet.Data);

        await outbound.SendAsync(new DataTransmissionPacket([8]));
        await SendAndAwaitMessageAsync(outbound, b, "sync");
        Assert.False(bGotData);
        Assert.Equal(1, inbound.PacketsDropped);
        Assert.Equal(0, outbound.PacketsDropped);
    }

    [Fact]
    public async Task Policy_flags_apply_per_network_across_three_nodes()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        await using var c = await StartAsync();
        c.TrustPolicy.AllowEnhancedPacketExchange = true;
        var (toB, _) = await ConnectBothEndsAsync(a, b);
        var (toC, fromA) = await ConnectBothEndsAsync(a, c);
        var atC = Next<DataTransmissionReceivedEventArgs>(h => c.DataTransmissionReceived += h);
        var bGotData = false;
        b.DataTransmissionReceived += (_, _) => bGotData = true;

        Assert.Equal(2, await a.BroadcastAsync(new DataTransmissionPacket([9])));
        Assert.Equal(fromA, (await atC).Channel);
        await SendAndAwaitMessageAsync(toB, b, "sync");
        Assert.False(bGotData);
        Assert.Equal(0, fromA.PacketsDropped);
        Assert.Equal(1, b.FindChannel(a.Identifier)!.PacketsDropped);
        Assert.Equal(PeerChannelState.Open, toC.State);
    }

    [Fact]
    public async Task The_default_trust_protocol_runs_when_the_channel_opens_before_PeerAdded_sees_early_packets_and_can_elevate()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        // The password is handled by b before its trust protocol starts waiting for it: it must not be missed.
        var passwordHandled = Next<PureMessageReceivedEventArgs>(h => b.MessageReceived += h, m => m.Message == "open sesame");
        var order = new List<string>();
        b.TrustPolicy.RunDefaultTrustProtocol = true;
        b.TrustPolicy.DefaultTrustProtocol = async (channel, ct) =>
        {
            lock (order) order.Add("protocol");
            Assert.Equal(PeerChannelState.Open, channel.State);
            Assert.DoesNotContain(channel, b.ActivePeerChannels);
            // A toy handshake: the peer proves it knows the password, we elevate and acknowledge.
            await passwordHandled.WaitAsync(ct);
            var password = await channel.ReceiveAsync(p => p is PureMessagePacket, ct);
            if (((PureMessagePacket)password).Message != "open sesame")
            {
                await channel.ClosePeerChannelAsync("wrong password", ct);
                return;
            }
            channel.ElevateTrust();
            await channel.SendAsync(new PureMessagePacket("welcome"), ct);
        };
        b.PeerAdded += (_, _) => { lock (order) order.Add("added"); };
        var added = Next<PeerChannel>(h => b.PeerAdded += h);
        var data = Next<DataTransmissionReceivedEventArgs>(h => b.DataTransmissionReceived += h);
        var welcome = Next<PureMessageReceivedEventArgs>(h => a.MessageReceived += h);

        var outbound = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        await outbound.SendAsync(new PureMessagePacket("open sesame"));
        Assert.Equal("welcome", (await welcome).Message);
        var inbound = await added;
        Assert.Equal(PeerTrustLevel.Enhanced, inbound.TrustLevel);
        await outbound.SendAsync(new DataTransmissionPacket([42]));
        Assert.Equal([42], (await data).Packet.Data);
        lock (order) Assert.Equal(["protocol", "added"], order);
    }

    [Fact]
    public async Task A_trust_protocol_that_rejects_the_peer_keeps_it_out_of_ActivePeerChannels()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(log: log);
        b.TrustPolicy.RunDefaultTrustProtocol = true;
        b.TrustPolicy.DefaultTrustProtocol = (_, _) => throw new InvalidOperationException("no certificate");
        var addedAtB = false;
        b.PeerAdded += (_, _) => addedAtB = true;

        var outbound = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        await outbound.Completion.WaitAsync(Wait); // b sends a DisconnectPacket: no retry at a
        await log.WaitForAsync(m => m == $"The trust protocol with {a.Identifier} failed: no certificate", Wait);
        await log.WaitForAsync(m => m == $"Peer channel with {a.Identifier} closed: trust protocol failed", Wait);

        Assert.Equal(PeerChannelState.Closed, outbound.State);
        Assert.Equal("peer disconnected: trust protocol failed", outbound.CloseReason);
        Assert.False(addedAtB);
        Assert.Empty(b.ActivePeerChannels);
        Assert.Empty(a.ActivePeerChannels);
    }

    [Fact]
    public async Task The_trust_protocol_does_not_run_unless_RunDefaultTrustProtocol_is_set()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var ran = false;
        b.TrustPolicy.DefaultTrustProtocol = (_, _) => { ran = true; return Task.CompletedTask; };

        var (_, inbound) = await ConnectBothEndsAsync(a, b);
        Assert.False(ran);
        Assert.Equal(PeerTrustLevel.Default, inbound.TrustLevel);
    }

    [Fact]
    public async Task A_blocked_identifier_is_refused_after_the_handshake_while_others_join()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(log: log);
        await using var c = await StartAsync();
        b.TrustPolicy.BlockIdentifier(a.Identifier);
        Assert.Contains(a.Identifier, b.TrustPolicy.BlockedIdentifiers);
        var attempts = new List<PeerId>();
        b.IncomingPeerConnectionAttempt += (_, e) => { lock (attempts) attempts.Add(e.Peer.Identifier); };

        var ex = await Record.ExceptionAsync(() => a.ConnectAsync(AddressOf(b)).WaitAsync(Wait));
        Assert.NotNull(ex);
        Assert.IsNotType<TimeoutException>(ex);
        await log.WaitForAsync(m => m.StartsWith($"Refused {a.Identifier} at ", StringComparison.Ordinal) && m.EndsWith(": blocked identifier", StringComparison.Ordinal), Wait);

        var (_, inbound) = await ConnectBothEndsAsync(c, b);
        Assert.Equal(c.Identifier, inbound.Identifier);
        lock (attempts) Assert.Equal([c.Identifier], attempts);
        Assert.DoesNotContain(a.Identifier, b.KnownPeers.Select(p => p.Identifier));
        Assert.Equal([c.Identifier], b.ActivePeerChannels.Select(ch => ch.Identifier));
        Assert.Empty(a.ActivePeerChannels);
    }

    [Fact]
    public async Task A_blocked_IP_is_closed_at_accept_while_another_address_joins()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(o => o with { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"), Multiaddr.Parse("/ip6/::1/tcp/0")] }, log);
        await using var c = await StartAsync(o => o with { ListenAddresses = [Multiaddr.Parse("/ip6/::1/tcp/0")] });
        b.TrustPolicy.BlockIP(IPAddress.Loopback);
        Assert.Contains(IPAddress.Loopback, b.TrustPolicy.BlockedIPs);
        var attempted = false;
        b.IncomingPeerConnectionAttempt += (_, e) => attempted |= e.Peer.Identifier == a.Identifier;

        var ip4 = b.ListenAddresses.Single(m => m.ToIPEndPoint()!.Address.Equals(IPAddress.Loopback)).WithPeerId(b.Identifier);
        var ex = await Record.ExceptionAsync(() => a.ConnectAsync(ip4).WaitAsync(Wait));
        Assert.NotNull(ex);
        Assert.IsNotType<TimeoutException>(ex);
        // Closed by the host's connection gater before any handshake byte: the dialer is never identified.
        await log.WaitForAsync(m => m.StartsWith("Connection from /ip4/127.0.0.1/", StringComparison.Ordinal) && m.Contains("closed at accept by the connection gater", StringComparison.Ordinal), Wait);
        Assert.DoesNotContain(log.Entries, e => e.Message.StartsWith($"Refused {a.Identifier}", StringComparison.Ordinal));

        var ip6 = b.ListenAddresses.Single(m => m.ToIPEndPoint()!.Address.Equals(IPAddress.IPv6Loopback)).WithPeerId(b.Identifier);
        var added = Next<PeerChannel>(h => b.PeerAdded += h);
        var outbound = await c.ConnectAsync(ip6).WaitAsync(Wait);
        Assert.Equal(c.Identifier, (await added).Identifier);
        Assert.Equal(PeerChannelState.Open, outbound.State);
        Assert.False(attempted);
        Assert.DoesNotContain(a.Identifier, b.KnownPeers.Select(p => p.Identifier));
        Assert.Equal([c.Identifier], b.ActivePeerChannels.Select(ch => ch.Identifier));
    }

    [Fact]
    public async Task Blocking_a_connected_peer_disconnects_it_without_retry()
    {
        await using var a = await StartAsync(o => o with { RetryBaseDelay = TimeSpan.FromMilliseconds(10) });
        await using var b = await StartAsync();
        await using var c = await StartAsync();
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        var (fromC, _) = await ConnectBothEndsAsync(c, b);
        var removed = Next<PeerChannel>(h => b.PeerRemoved += h);
        var states = new List<PeerChannelState>();
        outbound.StateChanged += (_, s) => { lock (states) states.Add(s); };

        b.BlockPeer(a.Identifier);
        Assert.Same(inbound, await removed);
        await outbound.Completion.WaitAsync(Wait);
        Assert.Equal("peer disconnected: blocked", outbound.CloseReason);
        lock (states) Assert.DoesNotContain(PeerChannelState.Reconnecting, states);
        Assert.Equal([c.Identifier], b.ActivePeerChannels.Select(ch => ch.Identifier));
        Assert.Equal(PeerChannelState.Open, fromC.State);
    }

    [Fact]
    public async Task Connecting_out_to_a_blocked_peer_is_refused_locally()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        a.TrustPolicy.BlockIdentifier(b.Identifier);
        var ex = await Assert.ThrowsAsync<PeerNetworkException>(() => a.ConnectAsync(AddressOf(b)).WaitAsync(Wait));
        Assert.Equal(PeerNetworkError.Blocked, ex.Error);
        Assert.Empty(a.Host.Connections);
    }


}
