using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Swarm;
using P2PNet.Tests.Support;
using static P2PNet.Tests.Peers.PeerTestNetwork;

namespace P2PNet.Tests.Peers;

/// <summary>
/// PeerChannel: states, clean close (no retry), reconnect after a killed connection, giving up on a killed
/// peer, the bounded send queue against a peer that stops reading, and DataReceived.
/// </summary>
public sealed class PeerChannelTests
{
    private static readonly TimeSpan FastRetry = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task A_local_close_goes_Opening_Open_Closing_Closed_and_the_remote_sees_Opening_Open_Closed()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var outbound = Record(a);
        var inbound = Record(b);
        var added = Next<PeerChannel>(h => b.PeerAdded += h);

        var channel = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        var remote = await added;
        await channel.ClosePeerChannelAsync("bye").WaitAsync(Wait);
        await remote.Completion.WaitAsync(Wait);

        Assert.Same(channel, outbound.Channel);
        Assert.Same(remote, inbound.Channel);
        Assert.Equal([PeerChannelState.Opening, PeerChannelState.Open, PeerChannelState.Closing, PeerChannelState.Closed], outbound.States);
        // The remote never sends a DisconnectPacket of its own: it goes straight to Closed.
        Assert.Equal([PeerChannelState.Opening, PeerChannelState.Open, PeerChannelState.Closed], inbound.States);
    }

    [Fact]
    public async Task Closing_the_outbound_channel_closes_both_sides_with_the_reason_and_never_retries()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync(o => o with { RetryBaseDelay = FastRetry }, log);
        await using var b = await StartAsync();
        var outbound = Record(a);
        var inboundAdded = Next<PeerChannel>(h => b.PeerAdded += h);
        var channel = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        var inbound = await inboundAdded;
        var disconnect = Next<PacketReceivedEventArgs>(h => b.DataReceived += h, e => e.Packet is DisconnectPacket);
        var removedA = Next<PeerChannel>(h => a.PeerRemoved += h);
        var removedB = Next<PeerChannel>(h => b.PeerRemoved += h);

        await channel.ClosePeerChannelAsync("done here").WaitAsync(Wait);

        Assert.Equal(PeerChannelState.Closed, channel.State);
        var seen = await disconnect;
        Assert.Same(inbound, seen.Channel);
        Assert.Equal("done here", ((DisconnectPacket)seen.Packet).Reason);
        await inbound.Completion.WaitAsync(Wait);
        Assert.Equal(PeerChannelState.Closed, inbound.State);
        Assert.Equal("peer disconnected: done here", inbound.CloseReason);
        Assert.Same(channel, await removedA);
        Assert.Same(inbound, await removedB);
        Assert.Empty(a.ActivePeerChannels);
        Assert.Empty(b.ActivePeerChannels);
        Assert.DoesNotContain(PeerChannelState.Reconnecting, outbound.States);
        Assert.DoesNotContain(log.Entries, e => e.Message.StartsWith("Reconnecting to", StringComparison.Ordinal));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await channel.SendAsync(new PureMessagePacket("too late")));
    }

    [Fact]
    public async Task A_DisconnectPacket_from_the_remote_closes_the_outbound_channel_without_retry()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync(o => o with { RetryBaseDelay = FastRetry }, log);
        await using var b = await StartAsync();
        var outbound = Record(a);
        var inboundAdded = Next<PeerChannel>(h => b.PeerAdded += h);
        var channel = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        var inbound = await inboundAdded;
        var removedA = Next<PeerChannel>(h => a.PeerRemoved += h);

        await inbound.ClosePeerChannelAsync("remote leaves").WaitAsync(Wait);

        await channel.Completion.WaitAsync(Wait);
        Assert.Same(channel, await removedA);
        Assert.Equal(PeerChannelState.Closed, channel.State);
        Assert.Equal("peer disconnected: remote leaves", channel.CloseReason);
        Assert.DoesNotContain(PeerChannelState.Reconnecting, outbound.States);
        Assert.DoesNotContain(log.Entries, e => e.Message.StartsWith("Reconnecting to", StringComparison.Ordinal));
        await log.WaitForAsync(m => m.Contains("disconnected: remote leaves", StringComparison.Ordinal), Wait);
        Assert.Empty(a.ActivePeerChannels);
    }

    [Fact]
    public async Task A_killed_connection_to_a_live_peer_is_redialed_and_the_same_channel_carries_messages_again()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync(o => o with { RetryBaseDelay = FastRetry, MaxConnectRetries = 3 }, log);
        await using var b = await StartAsync();
        var firstAdded = Next<PeerChannel>(h => b.PeerAdded += h);
        var channel = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        var firstInbound = await firstAdded;
        var states = new ConcurrentQueue<PeerChannelState>();
        var reopened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.StateChanged += (_, s) =>
        {
            states.Enqueue(s);
            if (s == PeerChannelState.Open && states.Contains(PeerChannelState.Reconnecting)) reopened.TrySetResult();
        };
        int removed = 0;
        a.PeerRemoved += (_, _) => Interlocked.Increment(ref removed);
        var secondAdded = Next<PeerChannel>(h => b.PeerAdded += h, c => !ReferenceEquals(c, firstInbound));

        // Kill the connection on the listener's side: no DisconnectPacket is sent.
        var connections = b.Host.Connections.Where(c => c.RemotePeerId == a.Identifier).ToList();
        Assert.NotEmpty(connections);
        foreach (var connection in connections) await connection.CloseAsync().AsTask().WaitAsync(Wait);

        await reopened.Task.WaitAsync(Wait);
        var secondInbound = await secondAdded;
        Assert.Equal(PeerChannelState.Open, channel.State);
        Assert.Same(channel, a.FindChannel(b.Identifier));
        Assert.Same(channel, Assert.Single(a.ActivePeerChannels));
        Assert.Equal(0, Volatile.Read(ref removed));
        Assert.Equal(PeerChannelState.Closed, firstInbound.State);
        Assert.Equal(PeerChannelState.Reconnecting, states.First());
        await log.WaitForAsync(m => m.StartsWith($"Reconnecting to {b.Identifier}: attempt 1 of 3", StringComparison.Ordinal), Wait);

        // Messages flow again, both ways, on the same outbound channel object.
        var atB = Next<PureMessageReceivedEventArgs>(h => b.MessageReceived += h, e => e.Message == "again");
        var atA = Next<PacketReceivedEventArgs>(h => channel.DataReceived += h, e => e.Packet is PureMessagePacket { Message: "back" });
        await channel.SendAsync(new PureMessagePacket("again")).AsTask().WaitAsync(Wait);
        Assert.Same(secondInbound, (await atB).Channel);
        await secondInbound.SendAsync(new PureMessagePacket("back")).AsTask().WaitAsync(Wait);
        Assert.Same(channel, (await atA).Channel);
    }

    [Fact]
    public async Task A_killed_peer_is_redialed_MaxConnectRetries_times_with_backoff_then_the_channel_gives_up()
    {
        var log = new CapturingLoggerProvider();
        await using var a = await StartAsync(o => o with { RetryBaseDelay = FastRetry, MaxConnectRetries = 3 }, log);
        await using var b = await StartAsync();
        var channel = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        var states = new ConcurrentQueue<PeerChannelState>();
        channel.StateChanged += (_, s) => states.Enqueue(s);
        var exhausted = Next<PeerChannel>(h => a.ChannelRetriesExhausted += h);
        var removed = Next<PeerChannel>(h => a.PeerRemoved += h);

        var clock = Stopwatch.StartNew();
        await b.Host.DisposeAsync().AsTask().WaitAsync(Wait); // the peer dies: its listener and connections are gone

        Assert.Same(channel, await exhausted);
        clock.Stop();
        Assert.Same(channel, await removed);
        await channel.Completion.WaitAsync(Wait);
        Assert.Equal(PeerChannelState.Closed, channel.State);
        Assert.Equal([PeerChannelState.Reconnecting, PeerChannelState.Closed], states);
        Assert.Empty(a.ActivePeerChannels);
        // 50 + 100 + 200 ms of backoff before the three redials.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(300), $"gave up after {clock.Elapsed.TotalMilliseconds} ms");

        var messages = log.Entries.Select(e => e.Message).ToList();
        string peer = b.Identifier.ToString();
        Assert.Contains($"Reconnecting to {peer}: attempt 1 of 3 in 50 ms", messages);
        Assert.Contains($"Reconnecting to {peer}: attempt 2 of 3 in 100 ms", messages);
        Assert.Contains($"Reconnecting to {peer}: attempt 3 of 3 in 200 ms", messages);
        Assert.Equal(3, messages.Count(m => m.StartsWith("Reconnect ", StringComparison.Ordinal) && m.Contains($" to {peer} failed", StringComparison.Ordinal)));
        Assert.DoesNotContain(messages, m => m.StartsWith("Reconnecting to", StringComparison.Ordinal) && m.Contains("attempt 4", StringComparison.Ordinal));
        Assert.Contains($"Gave up reconnecting to {peer}", messages);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await channel.SendAsync(new PureMessagePacket("nobody there")));
    }

    [Fact]
    public async Task SendAsync_waits_while_a_peer_does_not_read_and_everything_arrives_once_it_reads()
    {
        const int capacity = 8;
        const int size = 64 * 1024;
        const int total = 48;
        const int window = 256 * 1024; // yamux's initial stream window: what the silent peer absorbs
        await using var a = await StartAsync(o => o with { SendQueueCapacity = capacity });
        var added = Next<PeerChannel>(h => a.PeerAdded += h);

        // A raw libp2p peer that opens the channel stream, says hello, then does not read.
        using var identity = Identity.Generate();
        await using var raw = new SwarmHost(identity);
        var connection = await raw.DialAsync(AddressOf(a)).WaitAsync(Wait);
        var stream = await connection.OpenStreamAsync(PeerChannel.ProtocolId).WaitAsync(Wait);
        var hello = new ArrayBufferWriter<byte>();
        PacketCodec.WriteHello(hello, new ChannelHello(identity.PeerId.ToString(), networkName: a.Options.NetworkName));
        await stream.WriteAsync(hello.WrittenMemory).AsTask().WaitAsync(Wait);
        var channel = await added;
        Assert.Equal(identity.PeerId, channel.Identifier);

        var sends = new List<Task>();
        Task? pending = null;
        for (int i = 0; i < total && pending is null; i++)
        {
            var send = channel.SendAsync(Packet(i, size)).AsTask();
            sends.Add(send);
            if (i < capacity)
            {
                Assert.True(send.IsCompletedSuccessfully, $"send {i} should fit the empty queue");
                continue;
            }
            // Only an assertion that the send is still pending, not a wait for something to happen.
            if (await Task.WhenAny(send, Task.Delay(500)) != send) pending = send;
        }
        Assert.NotNull(pending);
        int accepted = sends.Count - 1;
        long written = channel.PacketsSent;
        // Bytes in flight are bounded: the queue, one write batch (256 KiB) and the peer's yamux window.
        Assert.InRange(accepted, capacity, capacity + (256 * 1024 / size) + (window / size));
        Assert.True(written * size <= window, $"{written} packets of {size} bytes written into a {window}-byte window");
        Assert.False(pending.IsCompleted);
        Assert.Equal(written, channel.PacketsSent);

        // The peer reads now: the waiting send completes, the rest go through and all arrive in order.
        var reading = ReadPacketsAsync(stream, total, size);
        await pending.WaitAsync(Wait);
        for (int i = sends.Count; i < total; i++) await channel.SendAsync(Packet(i, size)).AsTask().WaitAsync(Wait);
        await Task.WhenAll(sends).WaitAsync(Wait);
        var indexes = await reading.WaitAsync(Wait);
        Assert.Equal(Enumerable.Range(0, total), indexes);
        Assert.Equal(total, channel.PacketsSent);
    }

    [Fact]
    public async Task DataReceived_is_raised_for_every_accepted_packet_on_the_channel_and_the_network_with_the_right_channel()
    {
        const int perPeer = 20;
        await using var b = await StartAsync();
        await using var a = await StartAsync();
        await using var c = await StartAsync();
        var inbound = new ConcurrentDictionary<PeerId, PeerChannel>();
        var onChannel = new ConcurrentQueue<(object? Sender, PacketReceivedEventArgs Args, bool HandledFirst)>();
        var handled = new ConcurrentQueue<(PeerChannel? Channel, string Json)>();
        var onNetwork = new ConcurrentQueue<PacketReceivedEventArgs>();
        var allSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        b.ChannelOpening += (_, ch) =>
        {
            inbound[ch.Identifier] = ch;
            ch.DataReceived += (s, e) => onChannel.Enqueue((s, e, handled.Any(h => h.Json == e.Json)));
        };
        b.PacketHandleProtocol.HandlePureMessagePacketAction = json => handled.Enqueue((b.PacketHandleProtocol.CurrentChannel, json));
        b.DataReceived += (_, e) =>
        {
            onNetwork.Enqueue(e);
            if (onNetwork.Count == 2 * perPeer) allSeen.TrySetResult();
        };

        var fromA = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        var fromC = await c.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        for (int i = 0; i < perPeer; i++)
        {
            if (i == perPeer / 2) await fromA.SendAsync(new DataTransmissionPacket([1, 2, 3])); // b trusts a at Default only: dropped
            await fromA.SendAsync(new PureMessagePacket($"a{i}"));
            await fromC.SendAsync(new PureMessagePacket($"c{i}"));
        }
        await allSeen.Task.WaitAsync(Wait);

        var fromAtB = inbound[a.Identifier];
        var fromCtB = inbound[c.Identifier];
        Assert.Equal(1, fromAtB.PacketsDropped);
        Assert.Equal(perPeer + 1, fromAtB.PacketsReceived);
        Assert.Equal(0, fromCtB.PacketsDropped);
        Assert.Equal(2 * perPeer, onNetwork.Count);
        Assert.Equal(2 * perPeer, onChannel.Count);
        Assert.Equal(2 * perPeer, handled.Count);
        Assert.All(onNetwork, e => Assert.Same(ChannelOf(e.Packet), e.Channel));
        Assert.All(onChannel, e =>
        {
            Assert.Same(ChannelOf(e.Args.Packet), e.Sender);
            Assert.Same(e.Sender, e.Args.Channel);
            Assert.True(e.HandledFirst, "the PacketHandleProtocol delegate runs before DataReceived");
        });
        Assert.All(handled, h => Assert.Same(ChannelOf(PacketCodec.FromJson(h.Json)), h.Channel));
        Assert.Null(b.PacketHandleProtocol.CurrentChannel);
        Assert.Equal(Enumerable.Range(0, perPeer).Select(i => $"a{i}"),
            onChannel.Where(e => e.Sender == fromAtB).Select(e => ((PureMessagePacket)e.Args.Packet).Message));
        Assert.DoesNotContain(onNetwork, e => e.Type == PacketType.DataTransmission);

        PeerChannel ChannelOf(NetworkPacket packet) =>
            ((PureMessagePacket)packet).Message[0] == 'a' ? fromAtB : fromCtB;
    }

    [Fact]
    public async Task ReceiveAsync_in_a_trust_protocol_returns_a_packet_that_arrived_before_the_call()
    {
        await using var b = await StartAsync(o => o with { TrustProtocolTimeout = TimeSpan.FromSeconds(5) });
        await using var a = await StartAsync();
        var thirdSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        b.DataReceived += (_, e) => { if (e.Packet is PureMessagePacket { Message: "third" }) thirdSeen.TrySetResult(); };
        b.TrustPolicy.RunDefaultTrustProtocol = true;
        b.TrustPolicy.DefaultTrustProtocol = async (channel, ct) =>
        {
            await channel.ReceiveAsync(p => p is PureMessagePacket { Message: "first" }, ct);
            // "third" was dispatched, so "second" came and went before the next call.
            await thirdSeen.Task.WaitAsync(ct);
            await channel.ReceiveAsync(p => p is PureMessagePacket { Message: "second" }, ct);
        };
        var added = Next<PeerChannel>(h => b.PeerAdded += h);

        var channel = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        foreach (var text in new[] { "first", "second", "third" }) await channel.SendAsync(new PureMessagePacket(text));

        var inbound = await added;
        Assert.Equal(a.Identifier, inbound.Identifier);
        Assert.Equal(PeerChannelState.Open, inbound.State);
    }

    [Fact]
    public async Task A_cancelled_ReceiveAsync_claims_no_packet_so_a_later_call_still_gets_it()
    {
        await using var b = await StartAsync(o => o with { TrustProtocolTimeout = TimeSpan.FromSeconds(5) });
        await using var a = await StartAsync();
        b.TrustPolicy.RunDefaultTrustProtocol = true;
        b.TrustPolicy.DefaultTrustProtocol = async (channel, ct) =>
        {
            using (var cancelled = new CancellationTokenSource())
            {
                await cancelled.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => channel.ReceiveAsync(p => p is PureMessagePacket { Message: "first" }, cancelled.Token));
            }
            await channel.SendAsync(new PureMessagePacket("ready"), ct);
            // "second" was dispatched, so "first" came and went before the next call: the cancelled call must not have taken it.
            await channel.ReceiveAsync(p => p is PureMessagePacket { Message: "second" }, ct);
            await channel.ReceiveAsync(p => p is PureMessagePacket { Message: "first" }, ct);
        };
        var added = Next<PeerChannel>(h => b.PeerAdded += h);
        var ready = Next<PureMessageReceivedEventArgs>(h => a.MessageReceived += h, m => m.Message == "ready");

        var channel = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        await ready;
        foreach (var text in new[] { "first", "second" }) await channel.SendAsync(new PureMessagePacket(text));

        var inbound = await added;
        Assert.Equal(PeerChannelState.Open, inbound.State);
    }

    [Fact]
    public async Task ReceiveAsync_in_a_trust_protocol_still_returns_a_reply_that_came_before_the_peer_closed()
    {
        // The dialer runs the protocol (an inbound one is also cancelled when the connection closes).
        await using var a = await StartAsync(o => o with { TrustProtocolTimeout = TimeSpan.FromSeconds(5) });
        await using var b = await StartAsync();
        var got = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        a.TrustPolicy.RunDefaultTrustProtocol = true;
        a.TrustPolicy.DefaultTrustProtocol = async (channel, ct) =>
        {
            await channel.Completion.WaitAsync(ct); // the peer said its last words and closed
            var last = await channel.ReceiveAsync(p => p is PureMessagePacket, ct);
            got.TrySetResult(((PureMessagePacket)last).Message);
        };
        var added = Next<PeerChannel>(h => b.PeerAdded += h);

        var connecting = a.ConnectAsync(AddressOf(b));
        var inbound = await added;
        await inbound.SendAsync(new PureMessagePacket("last words"));
        await inbound.ClosePeerChannelAsync("leaving").WaitAsync(Wait);

        var refused = await Assert.ThrowsAsync<PeerNetworkException>(() => connecting.WaitAsync(Wait));

        Assert.Equal(PeerNetworkError.TrustRejected, refused.Error); // the protocol returned with the channel closed
        Assert.Equal("last words", await got.Task.WaitAsync(Wait));
    }

    [Fact]
    public async Task Packets_sent_right_behind_the_hello_are_dispatched_without_waiting_for_more_bytes()
    {
        await using var a = await StartAsync();
        var message = Next<PureMessageReceivedEventArgs>(h => a.MessageReceived += h);

        // Hello and a packet in one write, so they reach the channel in one read.
        using var identity = Identity.Generate();
        await using var raw = new SwarmHost(identity);
        var connection = await raw.DialAsync(AddressOf(a)).WaitAsync(Wait);
        var stream = await connection.OpenStreamAsync(PeerChannel.ProtocolId).WaitAsync(Wait);
        var frames = new ArrayBufferWriter<byte>();
        PacketCodec.WriteHello(frames, new ChannelHello(identity.PeerId.ToString(), networkName: a.Options.NetworkName));
        PacketCodec.Write(frames, new PureMessagePacket("right behind the hello"));
        await stream.WriteAsync(frames.WrittenMemory).AsTask().WaitAsync(Wait);

        var received = await message;
        Assert.Equal("right behind the hello", received.Message);
        Assert.Equal(identity.PeerId, received.Sender);
    }

    private static DataTransmissionPacket Packet(int index, int size)
    {
        var data = new byte[size];
        BinaryPrimitives.WriteInt32BigEndian(data, index);
        data.AsSpan(4).Fill((byte)index);
        return new DataTransmissionPacket(data, name: $"chunk {index}");
    }

    /// <summary>Reads frames from a raw channel stream until <paramref name="count"/> data packets came; returns their indexes.</summary>
    private static async Task<List<int>> ReadPacketsAsync(Stream stream, int count, int size)
    {
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        var indexes = new List<int>();
        bool sawHello = false;
        while (indexes.Count < count)
        {
            var result = await reader.ReadAsync();
            var buffer = result.Buffer;
            while (PacketCodec.TryReadFrame(ref buffer, out var hello, out var packet))
            {
                if (hello is not null)
                {
                    Assert.False(sawHello);
                    sawHello = true;
                    continue;
                }
                var data = Assert.IsType<DataTransmissionPacket>(packet).Data;
                Assert.Equal(size, data.Length);
                int index = BinaryPrimitives.ReadInt32BigEndian(data);
                Assert.True(data.AsSpan(4).IndexOfAnyExcept((byte)index) < 0, $"packet {index} corrupted");
                indexes.Add(index);
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted) break;
        }
        await reader.CompleteAsync();
        Assert.True(sawHello);
        return indexes;
    }

    /// <summary>The first channel the network creates, with every state it goes through (from Opening on).</summary>
    private static StateRecord Record(PeerNetwork network)
    {
        var record = new StateRecord();
        network.ChannelOpening += (_, channel) =>
        {
            if (Interlocked.CompareExchange(ref record.Channel, channel, null) is not null) return;
            record.States.Enqueue(channel.State);
            channel.StateChanged += (_, s) => record.States.Enqueue(s);
        };
        return record;
    }

    private sealed class StateRecord
    {
        public PeerChannel? Channel;
        public ConcurrentQueue<PeerChannelState> States { get; } = new();
    }
}
