using System.Diagnostics.Metrics;
using P2PNet.Peers.Packets;

namespace P2PNet.Peers;

/// <summary>Counters of one network (meter <c>P2PNet.Peers</c>), one meter per network instance.</summary>
internal sealed class PeerNetworkMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _sent;
    private readonly Counter<long> _received;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _refused;

    public PeerNetworkMetrics(IMeterFactory? factory)
    {
        _meter = factory?.Create("P2PNet.Peers") ?? new Meter("P2PNet.Peers");
        _sent = _meter.CreateCounter<long>("p2pnet.packets.sent", "{packet}", "Packets written to channels");
        _received = _meter.CreateCounter<long>("p2pnet.packets.received", "{packet}", "Packets accepted by the trust policy");
        _dropped = _meter.CreateCounter<long>("p2pnet.packets.dropped", "{packet}", "Packets dropped by the trust policy");
        _refused = _meter.CreateCounter<long>("p2pnet.peers.refused", "{peer}", "Incoming peers refused (blocked, duplicate, rejected)");
    }

    public void PacketsSent(int count) => _sent.Add(count);

    public void PacketReceived(PacketType type) => _received.Add(1, new KeyValuePair<string, object?>("type", type.ToString()));

    public void PacketDropped(PacketType type) => _dropped.Add(1, new KeyValuePair<string, object?>("type", type.ToString()));

    public void PeerRefused(string reason) => _refused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Dispose() => _meter.Dispose();
}
