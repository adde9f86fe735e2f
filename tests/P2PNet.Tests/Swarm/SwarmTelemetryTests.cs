using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Swarm;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Swarm;

/// <summary>
/// The instruments and spans of the host and the peer network, seen as a user's listener sees them: each node's meters
/// come from its own IMeterFactory (so parallel tests do not mix), spans are told apart by their tags and parents.
/// </summary>
public sealed class SwarmTelemetryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Dial_and_handshake_are_timed_and_traced_and_the_gauges_count_connections_and_streams()
    {
        using var serverMeters = new TestMeterFactory();
        using var clientMeters = new TestMeterFactory();
        using var spans = new SpanRecorder();
        using var serverId = Identity.Generate();
        using var clientId = Identity.Generate();
        await using var server = new SwarmHost(serverId, meterFactory: serverMeters);
        await using var client = new SwarmHost(clientId, meterFactory: clientMeters);
        var addr = (await server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(serverId.PeerId);
        var accepted = Events.Next<Connection>(h => server.ConnectionOpened += h, null, Timeout);
        server.SetStreamHandler("/test/hold/1", async (stream, connection, ct) => _ = await stream.ReadAsync(new byte[1], ct)); // holds the stream open

        var connection = await client.DialAsync(addr).WaitAsync(Timeout);
        await accepted;
        await using var stream = await connection.OpenStreamAsync("/test/hold/1").WaitAsync(Timeout);

        var dial = Assert.Single(clientMeters.Recorded("p2pnet.dial.duration"));
        Assert.True(dial.Value > 0);
        Assert.False(dial.Tags.ContainsKey("error.type"));
        Assert.Equal("outbound", Assert.Single(clientMeters.Recorded("p2pnet.handshake.duration")).Tags["p2pnet.connection.direction"]);
        await Poll.UntilAsync(() => serverMeters.Recorded("p2pnet.handshake.duration").Count == 1, Timeout, "the inbound handshake recorded");
        Assert.Equal("inbound", serverMeters.Recorded("p2pnet.handshake.duration")[0].Tags["p2pnet.connection.direction"]);

        var gauges = clientMeters.Observe();
        Assert.Equal(1, gauges.Single(m => m.Name == "p2pnet.connection.count" && (string?)m.Tags["p2pnet.connection.direction"] == "outbound").Value);
        Assert.Equal(0, gauges.Single(m => m.Name == "p2pnet.connection.count" && (string?)m.Tags["p2pnet.connection.direction"] == "inbound").Value);
        Assert.Equal(1, gauges.Single(m => m.Name == "p2pnet.stream.count").Value);
        Assert.Equal(0, gauges.Single(m => m.Name == "p2pnet.handshake.pending").Value);

        // The dial span, with the handshake as its child.
        var dialSpan = spans.Single(s => s.OperationName == "p2pnet.dial" && (string?)s.GetTagItem("p2pnet.peer.address") == addr.ToString());
        Assert.Equal(serverId.PeerId.ToString(), dialSpan.GetTagItem("p2pnet.peer.id"));
        Assert.Equal(ActivityStatusCode.Unset, dialSpan.Status);
        Assert.Contains(spans.All(), s => s.OperationName == "p2pnet.handshake" && s.ParentSpanId == dialSpan.SpanId);
    }

    [Fact]
    public async Task A_failed_dial_is_recorded_with_its_error_type()
    {
        using var meters = new TestMeterFactory();
        using var serverId = Identity.Generate();
        using var wrongId = Identity.Generate();
        using var clientId = Identity.Generate();
        await using var server = new SwarmHost(serverId);
        await using var client = new SwarmHost(clientId, meterFactory: meters);
        var addr = await server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));

        // The remote cannot prove the PeerId we asked for: the Noise handshake fails.
        var failed = await Assert.ThrowsAsync<DialException>(() => client.DialAsync(addr.WithPeerId(wrongId.PeerId)).WaitAsync(Timeout));
        Assert.IsAssignableFrom<IOException>(failed.InnerException);
        var dial = Assert.Single(meters.Recorded("p2pnet.dial.duration"));
        Assert.NotNull(dial.Tags["error.type"]);
        Assert.Equal(dial.Tags["error.type"], Assert.Single(meters.Recorded("p2pnet.handshake.duration")).Tags["error.type"]);
        Assert.Equal(0, meters.Observe().Single(m => m.Name == "p2pnet.handshake.pending").Value);
    }

    [Fact]
    public async Task Dials_by_PeerId_and_the_peer_store_report_through_the_hosts_own_factory()
    {
        using var meters = new TestMeterFactory();
        using var serverId = Identity.Generate();
        using var clientId = Identity.Generate();
        await using var server = new SwarmHost(serverId);
        await using var client = new SwarmHost(clientId, meterFactory: meters);
        var addr = await server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        client.PeerStore.AddAddress(serverId.PeerId, addr, AddressSource.Manual);

        await client.DialAsync(serverId.PeerId).WaitAsync(Timeout);

        // The dial counter and the peer-store gauge are on the host's P2PNet.Swarm meter from its factory, not a meter of their own.
        var dial = Assert.Single(meters.Recorded("p2pnet.swarm.dials"));
        Assert.Equal("ok", dial.Tags["outcome"]);
        var store = meters.Observe().Single(m => m.Name == "p2pnet.peerstore.peers");
        Assert.True(store.Value >= 1, $"peer store gauge {store.Value}");
        Assert.All(meters.MeterNames, name => Assert.Equal(SwarmHost.MeterName, name));
    }

    [Fact]
    public async Task The_network_counts_channels_and_known_peers_and_traces_channel_open()
    {
        using var meters = new TestMeterFactory();
        using var spans = new SpanRecorder();
        var listen = new PeerNetworkOptions { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")] };
        await using var a = new PeerNetwork(listen, meterFactory: meters);
        await using var b = new PeerNetwork(listen);
        await a.StartAsync();
        await b.StartAsync();
        var channel = await a.ConnectAsync(b.ListenAddresses[0].WithPeerId(b.Identifier)).WaitAsync(Timeout);
        Assert.Equal(PeerChannelState.Open, channel.State);

        var gauges = meters.Observe();
        Assert.Equal(1, gauges.Single(m => m.Name == "p2pnet.channel.count").Value);
        Assert.Equal(1, gauges.Single(m => m.Name == "p2pnet.known_peer.count").Value);
        Assert.Equal(1, gauges.Single(m => m.Name == "p2pnet.connection.count" && (string?)m.Tags["p2pnet.connection.direction"] == "outbound").Value);
        var open = spans.Single(s => s.OperationName == "p2pnet.channel.open" && (string?)s.GetTagItem("p2pnet.peer.id") == b.Identifier.ToString()
            && (string?)s.GetTagItem("p2pnet.connection.direction") == "outbound");
        Assert.Equal(ActivityStatusCode.Unset, open.Status);
        await Poll.UntilAsync(() => spans.All().Any(s => s.OperationName == "p2pnet.channel.open" && (string?)s.GetTagItem("p2pnet.peer.id") == a.Identifier.ToString()), Timeout, "the inbound channel-open span");
    }

    /// <summary>Records the stopped spans of the P2PNet ActivitySource.</summary>
    private sealed class SpanRecorder : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<Activity> _stopped = new();

        public SpanRecorder()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == P2PNetTelemetry.ActivitySourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _stopped.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public IReadOnlyList<Activity> All() => [.. _stopped];

        public Activity Single(Func<Activity, bool> match) => Assert.Single(All(), a => match(a));

        public void Dispose() => _listener.Dispose();
    }
}
