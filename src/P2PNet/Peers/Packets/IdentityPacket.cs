using System.Text.Json.Serialization;

namespace P2PNet.Peers.Packets;

/// <summary>Who a peer is and where it can be reached.</summary>
public sealed class IdentityPacket : NetworkPacket
{
    /// <summary>Creates an empty packet (for deserialization).</summary>
    public IdentityPacket() { }

    /// <summary>Creates a packet for <paramref name="identifier"/> reachable at <paramref name="addresses"/>.</summary>
    public IdentityPacket(string identifier, IEnumerable<string>? addresses = null, string? displayName = null)
    {
        Identifier = identifier;
        Addresses = addresses is null ? [] : [.. addresses];
        DisplayName = displayName;
    }

    /// <inheritdoc />
    [JsonIgnore]
    public override PacketType Type => PacketType.Identity;

    /// <summary>The peer's PeerId in text form (at most <see cref="PacketCodec.MaxIdentifierLength"/> characters).</summary>
    public string Identifier { get; set; } = "";

    /// <summary>Multiaddr texts the peer listens on (at most <see cref="PacketCodec.MaxAddressesPerPeer"/>).</summary>
    public List<string> Addresses { get; set; } = [];

    /// <summary>Optional human-readable name.</summary>
    public string? DisplayName { get; set; }

    /// <summary>Optional name of the P2PNet network the peer belongs to.</summary>
    public string? NetworkName { get; set; }

    /// <summary>Optional software name and version, e.g. <c>p2pnet/0.1</c>.</summary>
    public string? AgentVersion { get; set; }
}
