using System.Text.Json.Serialization;

namespace P2PNet.Peers.Packets;

/// <summary>
/// Base of every packet exchanged on a P2PNet channel. The set of packets is closed (the constructor is not
/// visible outside P2PNet) so that <see cref="PacketCodec"/> can encode every instance.
/// As <see cref="NetworkPacket"/>, the JSON form carries a <c>"type"</c> discriminator (the <see cref="PacketType"/> name).
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(IdentityPacket), nameof(PacketType.Identity))]
[JsonDerivedType(typeof(DisconnectPacket), nameof(PacketType.Disconnect))]
[JsonDerivedType(typeof(CollectionSharePacket), nameof(PacketType.CollectionShare))]
[JsonDerivedType(typeof(DataTransmissionPacket), nameof(PacketType.DataTransmission))]
[JsonDerivedType(typeof(PureMessagePacket), nameof(PacketType.PureMessage))]
public abstract class NetworkPacket
{
    private protected NetworkPacket() { }

    /// <summary>The kind of this packet (its frame type byte).</summary>
    [JsonIgnore]
    public abstract PacketType Type { get; }
}
