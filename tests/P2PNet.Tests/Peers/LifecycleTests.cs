using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Tests.Support;
using static P2PNet.Tests.Peers.PeerTestNetwork;

namespace P2PNet.Tests.Peers;

/// <summary>
/// The peer lifecycle of the seed: checked (blocked, duplicate), wrapped in a GenericPeer, placed (event
/// and/or queue), added to KnownPeers; then the channel opens, joins ActivePeerChannels and raises PeerAdded.
/// </summary>
public sealed class LifecycleTests
{
    [Fact]
    public async Task Inbound_order_is_attempt_then_KnownPeers_then_PeerAdded_with_the_peer_known_and_active()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var order = new List<string>();
        IPeer? attempted = null;
        b.IncomingPeerConnectionAttempt += (_, e) =>
        {
            lock (order) order.Add("attempt");
            attempted = e.Peer;
            Assert.IsType<GenericPeer>(e.Peer);
            Assert.Equal(a.Identifier, e.Peer.Identifier);
            Assert.Empty(b.ActivePeerChannels);
        };
        b.KnownPeerAdded += (_, p) => { lock (order) order.Add("known " + (p.Identifier == a.Identifier)); };
        var knownWhenAdded = false;
        var activeWhenAdded = false;
        b.PeerAdded += (_, channel) =>
        {
            lock (order) order.Add("added");
            knownWhenAdded = b.KnownPeers.Any(p => ReferenceEquals(p, channel.Peer));
            activeWhenAdded = b.ActivePeerChannels.Contains(channel);
        };
        var added = Next<PeerChannel>(h => b.PeerAdded += h);

        await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        var inbound = await added;
        lock (order) Assert.Equal(["attempt", "known True", "added"], order);
        Assert.True(knownWhenAdded);
        Assert.True(activeWhenAdded);
        Assert.Same(attempted, inbound.Peer);
        Assert.Equal(PeerChannelState.Open, inbound.State);
        Assert.Equal(P2PNet.Swarm.ConnectionDirection.Inbound, inbound.Direction);
        Assert.Equal("inbound", ((GenericPeer)inbound.Peer).Source);
    }

    [Fact]
    public async Task Outbound_side_knows_the_peer_when_PeerAdded_fires()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var order = new List<string>();
        a.KnownPeerAdded += (_, p) => { lock (order) order.Add("known " + (p.Identifier == b.Identifier)); };
        var knownWhenAdded = false;
        a.PeerAdded += (_, channel) =>
        {
            lock (order) order.Add("added");
            knownWhenAdded = a.KnownPeers.Any(p => p.Identifier == channel.Identifier);
        };
        var added = Next<PeerChannel>(h => a.PeerAdded += h);

        var channel = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        Assert.Same(channel, await added);
        Assert.True(knownWhenAdded);
        lock (order) Assert.Equal(["known True", "added"], order);
        Assert.Contains(b.ListenAddresses[0], channel.Peer.Addresses); // learned from the hello
    }

    [Fact]
    public async Task Three_nodes_form_a_mesh_with_one_channel_per_pair()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        await using var c = await StartAsync();
        var nodes = new[] { a, b, c };
        // ConnectAsync returns once the dialer's end is open; each listening end registers a little later.
        var inboundEnds = new[]
        {
            Next<PeerChannel>(h => b.PeerAdded += h, ch => ch.Identifier == a.Identifier),
            Next<PeerChannel>(h => c.PeerAdded += h, ch => ch.Identifier == a.Identifier),
            Next<PeerChannel>(h => c.PeerAdded += h, ch => ch.Identifier == b.Identifier),
        };

        await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        await a.ConnectAsync(AddressOf(c)).WaitAsync(Wait);
        await b.ConnectAsync(AddressOf(c)).WaitAsync(Wait);
        await Task.WhenAll(inboundEnds);
        // Connecting again returns the live channel rather than opening a second one.
        Assert.Same(a.FindChannel(b.Identifier), await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait));

        foreach (var node in nodes)
        {
            var others = nodes.Where(n => n != node).Select(n => n.Identifier).OrderBy(id => id.ToString()).ToList();
            Assert.Equal(others, node.ActivePeerChannels.Select(ch => ch.Identifier).OrderBy(id => id.ToString()).ToList());
            Assert.Equal(others, node.KnownPeers.Select(p => p.Identifier).OrderBy(id => id.ToString()).ToList());
        }
    }

    [Fact]
    public async Task Connecting_to_ourselves_is_refused()
    {
        await using var a = await StartAsync();
        var ex = await Assert.ThrowsAsync<PeerNetworkException>(() => a.ConnectAsync(AddressOf(a)).WaitAsync(Wait));
        Assert.Equal(PeerNetworkError.Self, ex.Error);
    }

    [Fact]
    public async Task A_peer_rejected_by_the_event_is_refused_logged_and_never_known_or_active()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(log: log);
        await using var c = await StartAsync();
        b.IncomingPeerConnectionAttempt += (_, e) => { if (e.Peer.Identifier == a.Identifier) e.Reject("not on the guest list"); };
        var added = new List<PeerId>();
        b.PeerAdded += (_, ch) => { lock (added) added.Add(ch.Identifier); };
        var known = new List<PeerId>();
        b.KnownPeerAdded += (_, p) => { lock (known) known.Add(p.Identifier); };

        var closedAtB = Next<P2PNet.Swarm.Connection>(h => b.Host.ConnectionClosed += h, conn => conn.RemotePeerId == a.Identifier);

        var ex = await Record.ExceptionAsync(() => a.ConnectAsync(AddressOf(b)).WaitAsync(Wait));
        Assert.NotNull(ex);
        Assert.IsNotType<TimeoutException>(ex);
        await log.WaitForAsync(m => m.StartsWith($"Refused {a.Identifier} at ", StringComparison.Ordinal) && m.EndsWith(": not on the guest list", StringComparison.Ordinal), Wait);
        await closedAtB; // the refused connection is really closed (refusing once deadlocked its close)
        Assert.DoesNotContain(b.Host.Connections, conn => conn.RemotePeerId == a.Identifier);

        var cAdded = Next<PeerChannel>(h => b.PeerAdded += h);
        await c.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        await cAdded;
        lock (added) Assert.Equal([c.Identifier], added);
        lock (known) Assert.Equal([c.Identifier], known);
        Assert.Equal([c.Identifier], b.ActivePeerChannels.Select(ch => ch.Identifier));
        Assert.DoesNotContain(a.Identifier, b.KnownPeers.Select(p => p.Identifier));
        Assert.Empty(a.ActivePeerChannels);
    }

    [Fact]
    public async Task Queue_placement_lets_the_application_accept_one_peer_and_reject_another()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(log: log);
        await using var c = await StartAsync();
        b.TrustPolicy.IncomingPeerPlacement = IncomingPeerPlacement.QueueBased;
        var eventRaised = false;
        b.IncomingPeerConnectionAttempt += (_, _) => eventRaised = true;
        var addedAtB = new List<PeerId>();
        b.PeerAdded += (_, ch) => { lock (addedAtB) addedAtB.Add(ch.Identifier); };
        var added = Next<PeerChannel>(h => b.PeerAdded += h);

        var fromA = a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        var fromC = c.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        var requests = new[]
        {
            await b.InboundConnectingPeersQueue.DequeueAsync().AsTask().WaitAsync(Wait),
            await b.InboundConnectingPeersQueue.DequeueAsync().AsTask().WaitAsync(Wait),
        };
        Assert.Equal(
            new[] { a.Identifier.ToString(), c.Identifier.ToString() }.Order().ToList(),
            requests.Select(r => r.Peer.Identifier.ToString()).Order().ToList());
        Assert.All(requests, r => Assert.False(r.IsDecided));
        Assert.Empty(b.ActivePeerChannels); // nothing opens before the application decides
        foreach (var request in requests)
        {
            if (request.Peer.Identifier == a.Identifier) Assert.True(request.Accept());
            else Assert.True(request.Reject("queue says no"));
            Assert.True(request.IsDecided);
            Assert.False(request.Accept()); // decided once
        }

        var channel = await fromA;
        Assert.Equal(PeerChannelState.Open, channel.State);
        var ex = await Record.ExceptionAsync(() => fromC);
        Assert.NotNull(ex);
        Assert.IsNotType<TimeoutException>(ex);
        await log.WaitForAsync(m => m.StartsWith($"Refused {c.Identifier} at ", StringComparison.Ordinal) && m.EndsWith(": queue says no", StringComparison.Ordinal), Wait);
        Assert.Equal(a.Identifier, (await added).Identifier);

        Assert.False(eventRaised);
        lock (addedAtB) Assert.Equal([a.Identifier], addedAtB);
        Assert.Equal([a.Identifier], b.ActivePeerChannels.Select(ch => ch.Identifier));
        Assert.Contains(a.Identifier, b.KnownPeers.Select(p => p.Identifier));
        Assert.DoesNotContain(c.Identifier, b.KnownPeers.Select(p => p.Identifier));
        Assert.Empty(c.ActivePeerChannels);
    }

    [Fact]
    public async Task Both_placement_raises_the_event_first_and_only_enqueues_peers_it_did_not_reject()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(log: log);
        await using var c = await StartAsync();
        b.TrustPolicy.IncomingPeerPlacement = IncomingPeerPlacement.Both;
        var attempts = new List<(PeerId Peer, int Queued)>();
        b.IncomingPeerConnectionAttempt += (_, e) =>
        {
            lock (attempts) attempts.Add((e.Peer.Identifier, b.InboundConnectingPeersQueue.Count));
            if (e.Peer.Identifier == c.Identifier) e.Reject("event says no");
        };

        var fromC = Record.ExceptionAsync(() => c.ConnectAsync(AddressOf(b)).WaitAsync(Wait));
        await log.WaitForAsync(m => m.StartsWith($"Refused {c.Identifier} at ", StringComparison.Ordinal) && m.EndsWith(": event says no", StringComparison.Ordinal), Wait);
        var fromA = a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        var added = Next<PeerChannel>(h => b.PeerAdded += h);
        var request = await b.InboundConnectingPeersQueue.DequeueAsync().AsTask().WaitAsync(Wait);
        Assert.Equal(a.Identifier, request.Peer.Identifier);
        request.Accept();

        Assert.Equal(PeerChannelState.Open, (await fromA).State);
        Assert.Equal(a.Identifier, (await added).Identifier);
        var ex = await fromC;
        Assert.NotNull(ex);
        Assert.IsNotType<TimeoutException>(ex);
        lock (attempts) Assert.Equal([(c.Identifier, 0), (a.Identifier, 0)], attempts); // the event comes before the queue
        Assert.False(b.InboundConnectingPeersQueue.TryDequeue(out _));
        Assert.Equal([a.Identifier], b.ActivePeerChannels.Select(ch => ch.Identifier));
    }

    [Fact]
    public async Task A_queued_peer_nobody_accepts_is_rejected_after_the_decision_timeout()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(o => o with { InboundDecisionTimeout = TimeSpan.FromMilliseconds(300) }, log);
        b.TrustPolicy.IncomingPeerPlacement = IncomingPeerPlacement.QueueBased;

        var ex = await Record.ExceptionAsync(() => a.ConnectAsync(AddressOf(b)).WaitAsync(Wait));
        Assert.NotNull(ex);
        Assert.IsNotType<TimeoutException>(ex);
        await log.WaitForAsync(m => m.StartsWith($"Refused {a.Identifier} at ", StringComparison.Ordinal) && m.EndsWith(": not accepted in time", StringComparison.Ordinal), Wait);

        Assert.True(b.InboundConnectingPeersQueue.TryDequeue(out var expired));
        Assert.True(expired.IsDecided);
        Assert.Equal("not accepted in time", expired.RejectionReason);
        Assert.False(expired.Accept()); // too late
        Assert.Empty(b.ActivePeerChannels);
        Assert.DoesNotContain(a.Identifier, b.KnownPeers.Select(p => p.Identifier));
    }

    [Fact]
    public async Task A_full_inbound_queue_refuses_further_peers()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(o => o with { InboundQueueCapacity = 1 }, log);
        await using var c = await StartAsync();
        b.TrustPolicy.IncomingPeerPlacement = IncomingPeerPlacement.QueueBased;

        var fromA = a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        // Wait until a is queued (it is known while it waits) before c comes.
        await Next<IPeer>(h => b.KnownPeerAdded += h, p => p.Identifier == a.Identifier);
        Assert.Equal(1, b.InboundConnectingPeersQueue.Count);
        var ex = await Record.ExceptionAsync(() => c.ConnectAsync(AddressOf(b)).WaitAsync(Wait));
        Assert.NotNull(ex);
        Assert.IsNotType<TimeoutException>(ex);
        await log.WaitForAsync(m => m.StartsWith($"Refused {c.Identifier} at ", StringComparison.Ordinal) && m.EndsWith(": the inbound queue is full", StringComparison.Ordinal), Wait);

        var added = Next<PeerChannel>(h => b.PeerAdded += h);
        var request = await b.InboundConnectingPeersQueue.DequeueAsync().AsTask().WaitAsync(Wait);
        Assert.Equal(a.Identifier, request.Peer.Identifier);
        request.Accept();
        Assert.Equal(PeerChannelState.Open, (await fromA).State);
        Assert.Equal(a.Identifier, (await added).Identifier);
        Assert.Equal([a.Identifier], b.ActivePeerChannels.Select(ch => ch.Identifier));
    }

    [Fact]
    public async Task A_second_node_with_the_same_identity_is_refused_as_duplicate_while_the_first_stays()
    {
        var log = new CapturingLoggerProvider();
        using var identity = Identity.Generate();
        await using var a1 = await StartAsync(o => o with { Identity = identity });
        await using var a2 = await StartAsync(o => o with { Identity = identity });
        await using var b = await StartAsync(log: log);
        var (first, inbound) = await ConnectBothEndsAsync(a1, b);
        var attempts = 0;
        b.IncomingPeerConnectionAttempt += (_, _) => Interlocked.Increment(ref attempts);
        var removed = false;
        b.PeerRemoved += (_, _) => removed = true;

        var ex = await Record.ExceptionAsync(() => a2.ConnectAsync(AddressOf(b)).WaitAsync(Wait));
        Assert.NotNull(ex);
        Assert.IsNotType<TimeoutException>(ex);
        await log.WaitForAsync(m => m.StartsWith($"Refused {identity.PeerId} at ", StringComparison.Ordinal) && m.EndsWith(": duplicate: already connected", StringComparison.Ordinal), Wait);

        Assert.Equal(0, Volatile.Read(ref attempts));
        Assert.False(removed);
        Assert.Same(inbound, Assert.Single(b.ActivePeerChannels));
        Assert.Empty(a2.ActivePeerChannels);
        // The first channel still works both ways.
        var atB = Next<PureMessageReceivedEventArgs>(h => b.MessageReceived += h);
        var atA1 = Next<PureMessageReceivedEventArgs>(h => a1.MessageReceived += h);
        await first.SendAsync(new PureMessagePacket("still here"));
        await inbound.SendAsync(new PureMessagePacket("me too"));
        Assert.Equal("still here", (await atB).Message);
        Assert.Equal("me too", (await atA1).Message);
    }

    [Fact]
    public async Task A_second_channel_stream_on_the_same_connection_is_refused_as_duplicate()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync();
        await using var b = await StartAsync(log: log);
        var (first, inbound) = await ConnectBothEndsAsync(a, b);
        var connection = Assert.Single(a.Host.Connections);

        // Open the channel protocol again on the live connection, as a misbehaving peer would: the stream is
        // reset (during negotiation or after it), and no hello ever comes back.
        var refused = await Record.ExceptionAsync(async () =>
        {
            var stream = await connection.OpenStreamAsync(PeerChannel.ProtocolId).WaitAsync(Wait);
            await using (stream)
            {
                int n = await stream.ReadAsync(new byte[16]).AsTask().WaitAsync(Wait);
                Assert.Equal(0, n);
            }
        });
        Assert.True(refused is null or IOException, refused?.ToString());
        await log.WaitForAsync(m => m.StartsWith($"Refused {a.Identifier} at ", StringComparison.Ordinal) && m.EndsWith(": duplicate: already connected", StringComparison.Ordinal), Wait);

        Assert.True(connection.IsOpen); // the first channel's connection is kept
        Assert.Same(inbound, Assert.Single(b.ActivePeerChannels));
        var atB = Next<PureMessageReceivedEventArgs>(h => b.MessageReceived += h);
        await first.SendAsync(new PureMessagePacket("unaffected"));
        Assert.Equal("unaffected", (await atB).Message);
    }

    [Fact]
    public async Task A_packet_that_arrives_in_the_same_read_as_the_hello_is_handled_at_once()
    {
        await using var b = await StartAsync();
        using var identity = Identity.Generate();
        await using var host = new P2PNet.Swarm.SwarmHost(identity);
        var message = Next<PureMessageReceivedEventArgs>(h => b.MessageReceived += h);

        // A peer that sends its hello and a first packet in one write, as a fast peer may.
        var connection = await host.DialAsync(AddressOf(b)).WaitAsync(Wait);
        var stream = await connection.OpenStreamAsync(PeerChannel.ProtocolId).WaitAsync(Wait);
        await using (stream)
        {
            var frames = new System.Buffers.ArrayBufferWriter<byte>();
            PacketCodec.WriteHello(frames, new ChannelHello(identity.PeerId.ToString(), networkName: b.Options.NetworkName));
            PacketCodec.Write(frames, new PureMessagePacket("right behind the hello"));
            await stream.WriteAsync(frames.WrittenMemory).AsTask().WaitAsync(Wait);

            var received = await message; // nothing else is sent: it must not wait for more bytes
            Assert.Equal(("right behind the hello", identity.PeerId), (received.Message, received.Sender));
        }
    }

    [Fact]
    public async Task Closing_a_channel_removes_it_on_both_sides_but_keeps_the_peer_known()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var (outbound, inbound) = await ConnectBothEndsAsync(a, b);
        var removedAtB = Next<PeerChannel>(h => b.PeerRemoved += h);
        var removedAtA = Next<PeerChannel>(h => a.PeerRemoved += h);

        await outbound.ClosePeerChannelAsync("done").WaitAsync(Wait);
        Assert.Same(inbound, await removedAtB);
        Assert.Same(outbound, await removedAtA);
        await inbound.Completion.WaitAsync(Wait);
        Assert.Equal("peer disconnected: done", inbound.CloseReason);
        Assert.Empty(a.ActivePeerChannels);
        Assert.Empty(b.ActivePeerChannels);
        Assert.Contains(a.Identifier, b.KnownPeers.Select(p => p.Identifier));
        Assert.Contains(b.Identifier, a.KnownPeers.Select(p => p.Identifier));
        Assert.Null(inbound.Peer.Stream);

        // The peer may come back: a new channel opens.
        var again = await ConnectBothEndsAsync(a, b);
        Assert.NotSame(outbound, again.Outbound);
        Assert.Equal(PeerChannelState.Open, again.Inbound.State);
    }

}
