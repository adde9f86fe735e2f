using System.Text.Json.Serialization;

namespace P2PNet.Peers.Packets;

/// <summary>Shares known peers (peer exchange).</summary>
public sealed class CollectionSharePacket : NetworkPacket
{
    /// <summary>Creates an empty packet.</summary>
    public CollectionSharePacket() { }

    /// <summary>Creates a packet sharing <paramref name="peers"/>.</summary>
    public CollectionSharePacket(IEnumerable<PeerRecord> peers)
    {
        ArgumentNullException.ThrowIfNull(peers);
        Peers = [.. peers];
    }

    /// <inheritdoc />
    [JsonIgnore]
    public override PacketType Type => PacketType.CollectionShare;

    /// <summary>The shared peers (at most <see cref="PacketCodec.MaxPeersPerShare"/>).</summary>
    public List<PeerRecord> Peers { get; set; } = [];
}
