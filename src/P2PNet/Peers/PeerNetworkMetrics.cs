using System.Diagnostics;
using System.Diagnostics.Metrics;
using P2PNet.Core;
using P2PNet.Peers.Packets;
using P2PNet.Swarm;

namespace P2PNet.Peers;

/// <summary>
/// Instruments of one network (meter <c>P2PNet.Peers</c>, see <see cref="P2PNetTelemetry"/>), one meter per network
/// instance, and its <c>p2pnet.channel.open</c> spans. Names follow the OpenTelemetry semantic conventions.
/// </summary>
internal sealed class PeerNetworkMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _sent;
    private readonly Counter<long> _received;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _lost;
    private readonly Counter<long> _windowWaits;
    private readonly bool _ownsMeter;

    /// <param name="factory">The meter factory (null: a meter of our own).</param>
    /// <param name="channels">Reads the number of active channels, for the <c>p2pnet.channel.count</c> gauge.</param>
    /// <param name="knownPeers">Reads the number of known peers, for the <c>p2pnet.known_peer.count</c> gauge.</param>
    public PeerNetworkMetrics(IMeterFactory? factory, Func<int>? channels = null, Func<int>? knownPeers = null)
    {
        // A factory's meters are shared and owned by the factory (it caches them by name): dispose only our own.
        _ownsMeter = factory is null;
        _meter = factory?.Create(PeerNetwork.MeterName) ?? new Meter(PeerNetwork.MeterName);
        _sent = _meter.CreateCounter<long>("p2pnet.channel.sent.packets", "{packet}", "Packets written to channels");
        _received = _meter.CreateCounter<long>("p2pnet.channel.received.packets", "{packet}", "Packets accepted by the trust policy");
        _dropped = _meter.CreateCounter<long>("p2pnet.channel.dropped.packets", "{packet}", "Packets dropped by the trust policy");
        _refused = _meter.CreateCounter<long>("p2pnet.peer.refused", "{peer}", "Incoming peers refused (blocked, duplicate, rejected, handshake)");
        _lost = _meter.CreateCounter<long>("p2pnet.channel.lost.packets", "{packet}", "Packets never acknowledged by the peer, reported to the sender");
        _windowWaits = _meter.CreateCounter<long>("p2pnet.channel.window.waits", "{wait}",
            "Times a channel stopped writing with MaxUnacknowledgedPackets or MaxUnacknowledgedBytes outstanding, until the peer acknowledged");
        if (channels is not null)
            _meter.CreateObservableUpDownCounter("p2pnet.channel.count", channels, "{channel}", "Channels open, reconnecting or resuming");
        if (knownPeers is not null)
            _meter.CreateObservableUpDownCounter("p2pnet.known_peer.count", knownPeers, "{peer}", "Peers in KnownPeers");
    }

    public void PacketsSent(int count) => _sent.Add(count);

    public void PacketsLost(int count) => _lost.Add(count);

    public void WindowWait() => _windowWaits.Add(1);

    public void PacketReceived(PacketType type) => _received.Add(1, TypeTag(type));

    public void PacketDropped(PacketType type) => _dropped.Add(1, TypeTag(type));

    // The packet type tag, made once per type rather than per packet (an enum's name is looked up on every ToString).
    private static readonly KeyValuePair<string, object?>[] TypeTags =
        [.. Enumerable.Range(0, (int)PacketType.PureMessage + 1).Select(i => new KeyValuePair<string, object?>("p2pnet.packet.type", ((PacketType)i).ToString()))];

    private static KeyValuePair<string, object?> TypeTag(PacketType type) =>
        (uint)type < (uint)TypeTags.Length ? TypeTags[(int)type] : new("p2pnet.packet.type", type.ToString());

    public void PeerRefused(string reason) => _refused.Add(1, new KeyValuePair<string, object?>("p2pnet.refusal.reason", reason));

    /// <summary>Starts a <c>p2pnet.channel.open</c> span (null when nobody listens); end it with <see cref="EndChannelOpen"/>.</summary>
    public static Activity? StartChannelOpen(PeerId remote, ConnectionDirection direction)
    {
        var span = P2PNetTelemetry.Source.StartActivity("p2pnet.channel.open",
            direction == ConnectionDirection.Outbound ? ActivityKind.Client : ActivityKind.Server);
        span?.SetTag("p2pnet.peer.id", remote.ToString());
        span?.SetTag("p2pnet.connection.direction", direction == ConnectionDirection.Outbound ? "outbound" : "inbound");
        return span;
    }

    /// <summary>Ends a span of <see cref="StartChannelOpen"/> once; later calls do nothing.</summary>
    public static void EndChannelOpen(Activity? span, bool opened)
    {
        if (span is null || span.IsStopped) return;
        if (!opened) span.SetStatus(ActivityStatusCode.Error, "channel not opened");
        span.Dispose();
    }

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
