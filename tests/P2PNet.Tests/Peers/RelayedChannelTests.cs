using System.Collections.Concurrent;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Protocols.Relay;
using P2PNet.Swarm;

namespace P2PNet.Tests.Peers;

/// <summary>
/// Channels over circuit relay v2 on loopback: a relay with tiny limits between two networks. B listens only through
/// the relay (no TCP listener) until the test gives it one, so the channel runs on a relayed (limited) connection.
/// </summary>
public sealed class RelayedChannelTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private sealed class Lab : IAsyncDisposable
    {
        public required SwarmHost RelayHost { get; init; }
        public required RelayService Relay { get; init; }
        public required Multiaddr RelayAddress { get; init; }
        public required PeerNetwork A { get; init; }
        public required RelayClient ClientA { get; init; }
        public required PeerNetwork B { get; init; }
        public required RelayClient ClientB { get; init; }

        public Multiaddr CircuitToB => Multiaddr.Parse($"{RelayAddress}/p2p-circuit/p2p/{B.Identifier}");

        public required P2PNet.Tests.Support.CapturingLoggerProvider Log { get; init; }

        public static async Task<Lab> StartAsync(long maxCircuitBytes, bool allowLimited = true, TimeSpan? dialTimeout = null)
        {
            var log = new P2PNet.Tests.Support.CapturingLoggerProvider();
            var relayHost = new SwarmHost(Identity.Generate(), loggerFactory: log.CreateFactory());
            var relayAddress = (await relayHost.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(relayHost.LocalPeerId);
            var relay = new RelayService(relayHost, loggerFactory: log.CreateFactory(), options: new RelayServiceOptions
            {
                MaxCircuitBytes = maxCircuitBytes,
                MaxCircuitDuration = TimeSpan.Zero,
                MaxConnectRequestsPerMinutePerPeer = 1000,
            });
            PeerNetworkOptions Configure(PeerNetworkOptions o) => o with
            {
                AllowLimitedConnections = allowLimited,
                Swarm = dialTimeout is { } t ? o.Swarm with { DialTimeout = t } : o.Swarm,
            };
            var a = await PeerTestNetwork.StartAsync(o => Configure(o) with { DisplayName = "A" }, log);
            var b = await PeerTestNetwork.StartAsync(o => Configure(o) with { ListenAddresses = [], DisplayName = "B" }, log);
            var clientA = new RelayClient(a.Host, loggerFactory: log.CreateFactory());
            var clientB = new RelayClient(b.Host, loggerFactory: log.CreateFactory());
            await clientB.AddRelayAsync(relayAddress).WaitAsync(Wait);
            return new Lab { Log = log, RelayHost = relayHost, Relay = relay, RelayAddress = relayAddress, A = a, ClientA = clientA, B = b, ClientB = clientB };
        }

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
            await ClientA.DisposeAsync();
            await ClientB.DisposeAsync();
            await Relay.DisposeAsync();
            await RelayHost.DisposeAsync();
        }
    }

    [Fact]
    public async Task Packets_cross_relay_limit_resets_and_the_move_to_a_direct_connection_exactly_once_and_in_order()
    {
        // 16 KiB each way per circuit: the handshakes fit, a few dozen packets later the relay cuts the circuit.
        await using var lab = await Lab.StartAsync(maxCircuitBytes: 16 * 1024);
        try
        {
            await RunAsync(lab);
        }
        catch
        {
            foreach (var e in lab.Log.Entries.Where(e => !e.Message.StartsWith("Message from", StringComparison.Ordinal))) Console.WriteLine($"{e.Level} {e.Category}: {e.Message}");
            throw;
        }
    }

    private static async Task RunAsync(Lab lab)
    {
        var received = new ConcurrentQueue<string>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        const int N = 400;
        lab.B.MessageReceived += (_, e) =>
        {
            received.Enqueue(e.Message);
            if (received.Count == N) all.TrySetResult();
        };
        var limitReopened = PeerTestNetwork.Next<ChannelReopenEventArgs>(h => lab.A.ChannelReopened += h, e => e.Reason == ChannelReopenReason.RelayLimit);
        var limitSeenByB = PeerTestNetwork.Next<ChannelReopenEventArgs>(h => lab.B.ChannelReopening += h, e => e.Reason == ChannelReopenReason.RelayLimit);

        var channel = await lab.A.ConnectAsync(lab.CircuitToB).WaitAsync(Wait);
        Assert.True(channel.Connection!.Info.IsLimited);
        string padding = new('x', 300);
        for (int i = 0; i < N / 2; i++) await channel.SendAsync(new PureMessagePacket($"{i:D4} {padding}")).AsTask().WaitAsync(Wait);
        await limitReopened.WaitAsync(Wait);
        await limitSeenByB.WaitAsync(Wait);

        // (b) A direct connection appears (B gets a listener and dials A, as a hole punch would connect them):
        // the channel moves onto it while packets keep flowing.
        var moved = PeerTestNetwork.Next<ChannelReopenEventArgs>(h => lab.A.ChannelReopened += h, e => e.Reason == ChannelReopenReason.DirectConnection);
        await lab.B.Host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var direct = await lab.B.Host.DialAsync(lab.A.ListenAddresses[0]).WaitAsync(Wait);
        Assert.False(direct.Info.IsLimited);
        for (int i = N / 2; i < N; i++) await channel.SendAsync(new PureMessagePacket($"{i:D4} {padding}")).AsTask().WaitAsync(Wait);
        var move = await moved.WaitAsync(Wait);
        Assert.Same(channel, move.Channel);

        await all.Task.WaitAsync(Wait);
        Assert.Equal(Enumerable.Range(0, N).Select(i => $"{i:D4} {padding}"), received);
        Assert.False(channel.Connection!.Info.IsLimited);
        Assert.Equal(PeerChannelState.Open, channel.State);
        // Nothing more arrives (no replay delivered twice).
        await PeerTestNetwork.SendAndAwaitMessageAsync(channel, lab.B, "last");
        Assert.Equal(N + 1, received.Count);
    }

    [Fact]
    public async Task A_channel_on_an_unlimited_circuit_is_not_limited_and_moves_onto_a_direct_connection()
    {
        // Limits 0 = unlimited: the relay announces none, so the circuit is relayed but not limited.
        await using var lab = await Lab.StartAsync(maxCircuitBytes: 0);
        var channel = await lab.A.ConnectAsync(lab.CircuitToB).WaitAsync(Wait);
        Assert.False(channel.Connection!.Info.IsLimited);
        Assert.True(channel.Connection.RemoteAddress.IsCircuit);
        var moved = PeerTestNetwork.Next<ChannelReopenEventArgs>(h => lab.A.ChannelReopened += h, e => e.Reason == ChannelReopenReason.DirectConnection);
        await lab.B.Host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        await lab.B.Host.DialAsync(lab.A.ListenAddresses[0]).WaitAsync(Wait);
        var move = await moved.WaitAsync(Wait);
        Assert.Same(channel, move.Channel);
        // The direct connection is preferred over the unlimited circuit, and the channel runs on it.
        Assert.False(channel.Connection!.RemoteAddress.IsCircuit);
        Assert.False(lab.A.Host.FindConnection(lab.B.Identifier)!.RemoteAddress.IsCircuit);
        await PeerTestNetwork.SendAndAwaitMessageAsync(channel, lab.B, "direct");
    }

    [Fact]
    public async Task Without_AllowLimitedConnections_a_peer_reachable_only_through_a_relay_fails_with_a_clear_error()
    {
        await using var lab = await Lab.StartAsync(maxCircuitBytes: 128 * 1024, allowLimited: false, dialTimeout: TimeSpan.FromSeconds(1));
        var ex = await Assert.ThrowsAsync<PeerNetworkException>(() => lab.A.ConnectAsync(lab.CircuitToB).WaitAsync(Wait));
        Assert.Equal(PeerNetworkError.LimitedConnection, ex.Error);
        Assert.Contains("only through a relay", ex.Message, StringComparison.Ordinal);
        Assert.Empty(lab.A.ActivePeerChannels);
    }

    [Fact]
    public async Task Without_AllowLimitedConnections_the_channel_waits_for_the_direct_connection()
    {
        await using var lab = await Lab.StartAsync(maxCircuitBytes: 128 * 1024, allowLimited: false, dialTimeout: TimeSpan.FromSeconds(20));
        var relayed = PeerTestNetwork.Next<Connection>(h => lab.A.Host.ConnectionOpened += h, c => c.Info.IsLimited);
        var connecting = lab.A.ConnectAsync(lab.CircuitToB);
        // The relayed connection is up and the channel waits; then B dials A directly.
        await relayed;
        Assert.False(connecting.IsCompleted);
        await lab.B.Host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        await lab.B.Host.DialAsync(lab.A.ListenAddresses[0]).WaitAsync(Wait);
        var channel = await connecting.WaitAsync(Wait);
        Assert.False(channel.Connection!.Info.IsLimited);
        await PeerTestNetwork.SendAndAwaitMessageAsync(channel, lab.B, "direct");
    }
}
