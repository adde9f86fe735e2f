using System.Net;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Tests.Support;
using static P2PNet.Tests.Peers.PeerTestNetwork;

namespace P2PNet.Tests.Peers;

/// <summary>
/// PacketHandleProtocol, per network: the five Action&lt;string&gt; delegates get the JSON form, each has a
/// working default, they always run (DataReceived or not), empty ones leave DataReceived alone, and
/// CurrentChannel tells which channel a packet came on.
/// </summary>
public sealed class PacketHandleProtocolTests
{
    [Fact]
    public async Task Overridden_delegates_receive_the_JSON_form_and_know_the_channel()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        b.TrustPolicy.AllowEnhancedPacketExchange = true;
        var calls = new List<(string Handler, string Json, PeerChannel? Channel)>();
        var handlers = b.PacketHandleProtocol;
        handlers.HandleIdentityPacketAction = json => Record("identity", json);
        handlers.HandlePeerGroupPacketAction = json => Record("group", json);
        handlers.HandleDataTransmissionPacketAction = json => Record("data", json);
        handlers.HandlePureMessagePacketAction = json => Record("message", json);
        handlers.HandleDisconnectPacketAction = json => Record("disconnect", json);
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        var last = Next<PacketReceivedEventArgs>(h => b.DataReceived += h, e => e.Type == PacketType.Disconnect);

        var group = new PeerRecord(a.Identifier.ToString(), ["/ip4/10.0.0.1/tcp/4001"]);
        await outbound.SendAsync(new IdentityPacket(a.Identifier.ToString(), ["/ip4/10.0.0.1/tcp/4001"], "alice"));
        await outbound.SendAsync(new CollectionSharePacket([group]));
        await outbound.SendAsync(new DataTransmissionPacket([1, 2, 255], DataPayloadFormat.File, "a.bin", "application/octet-stream"));
        await outbound.SendAsync(new PureMessagePacket("hi \"there\""));
        await outbound.SendAsync(new DisconnectPacket("bye"));
        await last;

        lock (calls)
        {
            Assert.Equal(["identity", "group", "data", "message", "disconnect"], calls.Select(c => c.Handler));
            Assert.All(calls, c => Assert.Same(inbound, c.Channel));
            var identity = PacketCodec.FromJson<IdentityPacket>(calls[0].Json);
            Assert.Equal((a.Identifier.ToString(), "alice"), (identity.Identifier, identity.DisplayName));
            Assert.Equal(["/ip4/10.0.0.1/tcp/4001"], identity.Addresses);
            var share = PacketCodec.FromJson<CollectionSharePacket>(calls[1].Json);
            Assert.Equal(group.Identifier, Assert.Single(share.Peers).Identifier);
            var data = PacketCodec.FromJson<DataTransmissionPacket>(calls[2].Json);
            Assert.Equal([1, 2, 255], data.Data);
            Assert.Equal((DataPayloadFormat.File, "a.bin", "application/octet-stream"), (data.DataType, data.Name, data.ContentType));
            Assert.Contains("\"data\":\"AQL/\"", calls[2].Json, StringComparison.Ordinal); // base64 in the JSON form
            Assert.Equal("hi \"there\"", PacketCodec.FromJson<PureMessagePacket>(calls[3].Json).Message);
            Assert.Equal("bye", PacketCodec.FromJson<DisconnectPacket>(calls[4].Json).Reason);
            Assert.All(calls, c => Assert.Equal(c.Json, PacketCodec.ToJson(PacketCodec.FromJson(c.Json))));
        }
        // The defaults were replaced: nothing merged, no display name, and the disconnect did not close it.
        Assert.Null(b.KnownPeers.Single(p => p.Identifier == a.Identifier).DisplayName);
        Assert.Equal(PeerChannelState.Open, inbound.State);
        Assert.Null(handlers.CurrentChannel); // only set during a call

        void Record(string handler, string json)
        {
            lock (calls) calls.Add((handler, json, handlers.CurrentChannel));
        }
    }

    [Fact]
    public async Task Delegates_run_without_DataReceived_subscribers_and_before_DataReceived_when_there_are()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var order = new List<string>();
        b.PacketHandleProtocol.HandlePureMessagePacketAction = json =>
        {
            lock (order) order.Add("delegate " + PacketCodec.FromJson<PureMessagePacket>(json).Message);
        };
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // No DataReceived subscriber yet: the delegate still runs. A waiter observes the packet after it.
        var first = inbound.ReceiveAsync(p => p is PureMessagePacket { Message: "one" });
        await outbound.SendAsync(new PureMessagePacket("one"));
        await first.WaitAsync(Wait);
        lock (order) Assert.Equal(["delegate one"], order);

        inbound.DataReceived += (_, e) => { lock (order) order.Add("channel " + e.Type); };
        b.DataReceived += (_, e) =>
        {
            lock (order) order.Add("network " + e.Type);
            second.TrySetResult();
        };
        await outbound.SendAsync(new PureMessagePacket("two"));
        await second.Task.WaitAsync(Wait);
        lock (order) Assert.Equal(["delegate one", "delegate two", "channel PureMessage", "network PureMessage"], order);
    }

    [Fact]
    public async Task Empty_delegates_route_everything_through_DataReceived_alone()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        await using var c = await StartAsync();
        b.TrustPolicy.AllowEnhancedPacketExchange = true;
        var handlers = b.PacketHandleProtocol;
        handlers.HandleIdentityPacketAction = _ => { };
        handlers.HandleDisconnectPacketAction = _ => { };
        handlers.HandlePeerGroupPacketAction = _ => { };
        handlers.HandleDataTransmissionPacketAction = _ => { };
        handlers.HandlePureMessagePacketAction = _ => { };
        var defaultEvents = 0;
        b.MessageReceived += (_, _) => Interlocked.Increment(ref defaultEvents);
        b.DataTransmissionReceived += (_, _) => Interlocked.Increment(ref defaultEvents);
        var received = new List<PacketReceivedEventArgs>();
        b.DataReceived += (_, e) => { lock (received) received.Add(e); };
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        var last = Next<PacketReceivedEventArgs>(h => b.DataReceived += h, e => e.Type == PacketType.Disconnect);

        await outbound.SendAsync(new IdentityPacket(a.Identifier.ToString(), [], "alice"));
        await outbound.SendAsync(new CollectionSharePacket([new PeerRecord(c.Identifier.ToString(), [c.ListenAddresses[0].ToString()])]));
        await outbound.SendAsync(new DataTransmissionPacket([5]));
        await outbound.SendAsync(new PureMessagePacket("only via DataReceived"));
        await outbound.SendAsync(new DisconnectPacket("handled by the app"));
        await last;

        lock (received)
        {
            Assert.Equal(
                [PacketType.Identity, PacketType.CollectionShare, PacketType.DataTransmission, PacketType.PureMessage, PacketType.Disconnect],
                received.Select(e => e.Type));
            Assert.All(received, e => Assert.Same(inbound, e.Channel));
            Assert.Equal("only via DataReceived", PacketCodec.FromJson<PureMessagePacket>(received[3].Json).Message);
        }
        Assert.Equal(0, Volatile.Read(ref defaultEvents));
        Assert.DoesNotContain(c.Identifier, b.KnownPeers.Select(p => p.Identifier));
        Assert.Null(b.KnownPeers.Single(p => p.Identifier == a.Identifier).DisplayName);
        Assert.Equal(PeerChannelState.Open, inbound.State);
    }

    [Fact]
    public async Task Default_identity_handler_updates_the_peer_in_KnownPeers_and_ignores_claims_for_others()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(log: log);
        await using var c = await StartAsync();
        b.TrustPolicy.AllowEnhancedPacketExchange = true;
        var (outbound, _) = await ConnectBothEndsAsync(a, b);

        await outbound.SendAsync(new IdentityPacket(a.Identifier.ToString(), ["/ip4/10.1.2.3/tcp/4001"], "alice"));
        await outbound.SendAsync(new IdentityPacket(c.Identifier.ToString(), ["/ip4/10.6.6.6/tcp/1"], "not c"));
        await SendAndAwaitMessageAsync(outbound, b, "sync");

        var known = b.KnownPeers.Single(p => p.Identifier == a.Identifier);
        Assert.Equal("alice", known.DisplayName);
        Assert.Contains(Multiaddr.Parse("/ip4/10.1.2.3/tcp/4001"), known.Addresses);
        Assert.Contains(a.ListenAddresses[0], known.Addresses); // from the hello, still there
        Assert.DoesNotContain(c.Identifier, b.KnownPeers.Select(p => p.Identifier));
        Assert.Contains(log.Entries, e => e.Message == $"Ignored an identity packet on the channel of {a.Identifier}: it claims to be {c.Identifier}");
    }

    [Fact]
    public async Task Default_disconnect_handler_closes_that_channel_without_retry_and_leaves_the_others()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync(o => o with { RetryBaseDelay = TimeSpan.FromMilliseconds(10) }, log);
        await using var b = await StartAsync();
        await using var c = await StartAsync();
        var (toB, fromA) = await ConnectBothEndsAsync(a, b);
        var (toC, _) = await ConnectBothEndsAsync(a, c);
        var states = new List<PeerChannelState>();
        toB.StateChanged += (_, s) => { lock (states) states.Add(s); };
        var removed = Next<PeerChannel>(h => a.PeerRemoved += h);
        var gaveUp = false;
        a.ChannelRetriesExhausted += (_, _) => gaveUp = true;

        // b sends a bare DisconnectPacket (it does not close its side itself): a's default handler closes.
        await fromA.SendAsync(new DisconnectPacket("bye"));
        Assert.Same(toB, await removed);
        await toB.Completion.WaitAsync(Wait);
        await fromA.Completion.WaitAsync(Wait); // a closed the connection: b's inbound channel ends too

        Assert.Equal("peer disconnected: bye", toB.CloseReason);
        lock (states) Assert.Equal([PeerChannelState.Closed], states);
        Assert.False(gaveUp);
        Assert.Contains(log.Entries, e => e.Message == $"{b.Identifier} disconnected: bye");
        Assert.DoesNotContain(log.Entries, e => e.Message.StartsWith($"Reconnecting to {b.Identifier}", StringComparison.Ordinal));
        Assert.Equal([c.Identifier], a.ActivePeerChannels.Select(ch => ch.Identifier));
        Assert.Equal(PeerChannelState.Open, toC.State);
        Assert.Empty(b.ActivePeerChannels);
    }

    [Fact]
    public async Task Default_peer_group_handler_merges_shared_peers_validated_never_ourselves_nor_blocked()
    {
        var log = new CapturingLoggerProvider();
        using var blocked = Identity.Generate();
        using var noAddress = Identity.Generate();
        using var blockedIp = Identity.Generate();
        using var mixed = Identity.Generate();
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        await using var c = await StartAsync(log: log);
        c.TrustPolicy.AllowEnhancedPacketExchange = true;
        c.TrustPolicy.BlockIdentifier(blocked.PeerId);
        c.TrustPolicy.BlockIP(IPAddress.Parse("10.9.9.9"));
        await ConnectBothEndsAsync(b, a); // a learns b and its listen addresses from the hello
        var (fromC, toC) = await ConnectBothEndsAsync(c, a);
        var knownAdded = new List<PeerId>();
        c.KnownPeerAdded += (_, p) => { lock (knownAdded) knownAdded.Add(p.Identifier); };

        var bAtA = a.KnownPeers.Single(p => p.Identifier == b.Identifier);
        var records = new List<PeerRecord>
        {
            new(bAtA.Identifier.ToString(), bAtA.Addresses.Select(m => m.ToString())),
            new(c.Identifier.ToString(), ["/ip4/127.0.0.1/tcp/1"]),          // c itself
            new("not-a-peer-id", ["/ip4/127.0.0.1/tcp/2"]),                   // invalid identifier
            new(blocked.PeerId.ToString(), ["/ip4/127.0.0.1/tcp/3"]),         // blocked identifier
            new(noAddress.PeerId.ToString(), ["garbage", "/ip4/1.2.3.4/udp/5"]), // no usable address
            new(blockedIp.PeerId.ToString(), ["/ip4/10.9.9.9/tcp/4"]),        // only a blocked IP
            new(mixed.PeerId.ToString(), ["junk", "/ip4/10.9.9.9/tcp/6", "/ip4/10.2.2.2/tcp/7"]),
        };
        await toC.SendAsync(new CollectionSharePacket(records));
        await log.WaitForAsync(m => m == $"Merged 2 peers shared by {a.Identifier} into KnownPeers (5 skipped)", Wait);

        var known = c.KnownPeers.ToDictionary(p => p.Identifier);
        Assert.Equal(
            new[] { a.Identifier, b.Identifier, mixed.PeerId }.Select(id => id.ToString()).Order(),
            known.Keys.Select(id => id.ToString()).Order());
        Assert.Equal(b.ListenAddresses, known[b.Identifier].Addresses);
        Assert.Equal([Multiaddr.Parse("/ip4/10.2.2.2/tcp/7")], known[mixed.PeerId].Addresses);
        Assert.Equal("exchange", ((GenericPeer)known[b.Identifier]).Source);
        lock (knownAdded) Assert.Equal([b.Identifier, mixed.PeerId], knownAdded);

        // The shared record is good enough to reach b.
        var toB = await c.OpenPeerChannelAsync(known[b.Identifier]).WaitAsync(Wait);
        Assert.Equal(b.Identifier, toB.Identifier);
        Assert.Equal(PeerChannelState.Open, fromC.State);
    }

    [Fact]
    public async Task Peer_group_merging_is_bounded_by_MaxKnownPeers_and_keeps_connected_peers()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var c = await StartAsync(o => o with { MaxKnownPeers = 4 }, log);
        c.TrustPolicy.AllowEnhancedPacketExchange = true;
        var (_, toC) = await ConnectBothEndsAsync(c, a);
        var identities = Enumerable.Range(0, 10).Select(_ => Identity.Generate()).ToList();
        try
        {
            var records = identities.Select((id, i) => new PeerRecord(id.PeerId.ToString(), [$"/ip4/10.3.0.{i + 1}/tcp/4001"]));
            await toC.SendAsync(new CollectionSharePacket(records));
            await log.WaitForAsync(m => m == $"Merged 10 peers shared by {a.Identifier} into KnownPeers (0 skipped)", Wait);

            Assert.Equal(4, c.KnownPeers.Count);
            Assert.Contains(a.Identifier, c.KnownPeers.Select(p => p.Identifier)); // connected: never evicted
            // The newest records are the ones kept (the stalest unconnected ones are evicted).
            Assert.Contains(identities[^1].PeerId, c.KnownPeers.Select(p => p.Identifier));
        }
        finally
        {
            foreach (var id in identities) id.Dispose();
        }
    }

    [Fact]
    public async Task A_share_over_the_packet_limit_is_refused_by_SendAsync_and_the_channel_stays_open()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var (outbound, _) = await ConnectBothEndsAsync(a, b);
        var records = Enumerable.Range(0, PacketCodec.MaxPeersPerShare + 1).Select(i => new PeerRecord("QmPeer" + i));

        var ex = await Assert.ThrowsAsync<PacketFormatException>(async () => await outbound.SendAsync(new CollectionSharePacket(records)));
        Assert.Equal(PacketFormatError.LimitExceeded, ex.Error);
        await SendAndAwaitMessageAsync(outbound, b, "still open");
        Assert.Equal(PeerChannelState.Open, outbound.State);
    }

    [Fact]
    public async Task Default_data_transmission_handler_raises_the_typed_event()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        b.TrustPolicy.AllowEnhancedPacketExchange = true;
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        var received = Next<DataTransmissionReceivedEventArgs>(h => b.DataTransmissionReceived += h);
        var bytes = new byte[100_000];
        new Random(7).NextBytes(bytes);

        await outbound.SendAsync(new DataTransmissionPacket(bytes, DataPayloadFormat.File, "blob.bin", "application/octet-stream"));
        var e = await received;
        Assert.Same(inbound, e.Channel);
        Assert.Equal(bytes, e.Packet.Data);
        Assert.Equal((DataPayloadFormat.File, "blob.bin", "application/octet-stream"), (e.Packet.DataType, e.Packet.Name, e.Packet.ContentType));
    }

    [Fact]
    public async Task Default_pure_message_handler_raises_the_message_event_and_logs_it()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(log: log);
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        var received = Next<PureMessageReceivedEventArgs>(h => b.MessageReceived += h);

        await outbound.SendAsync(new PureMessagePacket("hello b"));
        var e = await received;
        Assert.Equal(("hello b", a.Identifier), (e.Message, e.Sender));
        Assert.Same(inbound, e.Channel);
        Assert.Contains(log.Entries, l => l.Message == $"Message from {a.Identifier}: hello b");
    }

    [Fact]
    public async Task CurrentChannel_tells_which_of_several_channels_a_packet_came_on()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        await using var c = await StartAsync();
        var seen = new List<(string Message, PeerId? From)>();
        var both = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.PacketHandleProtocol.HandlePureMessagePacketAction = json =>
        {
            lock (seen)
            {
                seen.Add((PacketCodec.FromJson<PureMessagePacket>(json).Message, a.PacketHandleProtocol.CurrentChannel?.Identifier));
                if (seen.Count == 4) both.TrySetResult();
            }
        };
        var (fromB, _) = await ConnectBothEndsAsync(b, a);
        var (fromC, _) = await ConnectBothEndsAsync(c, a);

        await Task.WhenAll(
            fromB.SendAsync(new PureMessagePacket("b1")).AsTask(), fromC.SendAsync(new PureMessagePacket("c1")).AsTask(),
            fromB.SendAsync(new PureMessagePacket("b2")).AsTask(), fromC.SendAsync(new PureMessagePacket("c2")).AsTask());
        await both.Task.WaitAsync(Wait);

        lock (seen)
        {
            Assert.All(seen, s => Assert.Equal(s.Message[0] == 'b' ? b.Identifier : c.Identifier, s.From));
            Assert.Equal(4, seen.Count);
        }
        Assert.Null(a.PacketHandleProtocol.CurrentChannel);
        // The defaults need a channel: called from outside a dispatch they say so.
        a.PacketHandleProtocol.RestoreDefaults();
        Assert.Throws<InvalidOperationException>(() => a.PacketHandleProtocol.HandlePureMessagePacketAction(PacketCodec.ToJson(new PureMessagePacket("x"))));
    }

    [Fact]
    public async Task Handlers_are_per_network_and_RestoreDefaults_brings_the_defaults_back()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        await using var c = await StartAsync();
        var overridden = new List<string>();
        a.PacketHandleProtocol.HandlePureMessagePacketAction = json => { lock (overridden) overridden.Add(PacketCodec.FromJson<PureMessagePacket>(json).Message); };
        var defaultAtA = new List<string>();
        a.MessageReceived += (_, e) => { lock (defaultAtA) defaultAtA.Add(e.Message); };
        var (toA, _) = await ConnectBothEndsAsync(c, a);
        await ConnectBothEndsAsync(c, b);
        var atB = Next<PureMessageReceivedEventArgs>(h => b.MessageReceived += h);
        var atA = Next<PacketReceivedEventArgs>(h => a.DataReceived += h);

        Assert.Equal(2, await c.BroadcastAsync(new PureMessagePacket("to all")));
        Assert.Equal("to all", (await atB).Message); // b keeps its default
        await atA;
        lock (overridden) Assert.Equal(["to all"], overridden);
        lock (defaultAtA) Assert.Empty(defaultAtA);

        a.PacketHandleProtocol.RestoreDefaults();
        var restored = Next<PureMessageReceivedEventArgs>(h => a.MessageReceived += h);
        await toA.SendAsync(new PureMessagePacket("default again"));
        Assert.Equal("default again", (await restored).Message);
        lock (overridden) Assert.Equal(["to all"], overridden);
    }

    [Fact]
    public async Task A_throwing_delegate_is_logged_and_the_packet_still_reaches_DataReceived()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(log: log);
        b.PacketHandleProtocol.HandlePureMessagePacketAction = json =>
        {
            if (PacketCodec.FromJson<PureMessagePacket>(json).Message == "boom") throw new InvalidOperationException("handler exploded");
        };
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        var boom = Next<PacketReceivedEventArgs>(h => b.DataReceived += h, e => e.Packet is PureMessagePacket { Message: "boom" });
        var after = Next<PacketReceivedEventArgs>(h => b.DataReceived += h, e => e.Packet is PureMessagePacket { Message: "after" });

        await outbound.SendAsync(new PureMessagePacket("boom"));
        await outbound.SendAsync(new PureMessagePacket("after"));
        await boom;
        await after;
        Assert.Contains(log.Entries, e => e.Message == $"A handler for PureMessage from {a.Identifier} threw: handler exploded");
        Assert.Equal(PeerChannelState.Open, inbound.State);
    }


}
