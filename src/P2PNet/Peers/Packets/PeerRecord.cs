namespace P2PNet.Peers.Packets;

/// <summary>One peer shared in a <see cref="CollectionSharePacket"/>.</summary>
public sealed class PeerRecord
{
    /// <summary>Creates an empty record (for deserialization).</summary>
    public PeerRecord() { }

    /// <summary>Creates a record for <paramref name="identifier"/> reachable at <paramref name="addresses"/>.</summary>
    public PeerRecord(string identifier, IEnumerable<string>? addresses = null)
    {
        Identifier = identifier;
        Addresses = addresses is null ? [] : [.. addresses];
    }

    /// <summary>The peer's PeerId in text form (at most <see cref="PacketCodec.MaxIdentifierLength"/> characters).</summary>
    public string Identifier { get; set; } = "";

    /// <summary>Multiaddr texts of the peer (at most <see cref="PacketCodec.MaxAddressesPerPeer"/>).</summary>
    public List<string> Addresses { get; set; } = [];
}
