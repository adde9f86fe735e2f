using System.Text.Json.Serialization;

namespace P2PNet.Peers.Packets;

/// <summary>
/// Source-generated JSON metadata for every packet (no reflection; AOT-safe). camelCase names, enums as
/// their names (e.g. <c>"dataType": "File"</c>; numbers are accepted on input), null optional fields omitted,
/// unknown properties ignored (forward compatibility). Serializing as <see cref="NetworkPacket"/> adds the
/// <c>"type"</c> discriminator, which may appear anywhere in the object on input.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    AllowOutOfOrderMetadataProperties = true)]
[JsonSerializable(typeof(NetworkPacket))]
[JsonSerializable(typeof(IdentityPacket))]
[JsonSerializable(typeof(DisconnectPacket))]
[JsonSerializable(typeof(CollectionSharePacket))]
[JsonSerializable(typeof(DataTransmissionPacket))]
[JsonSerializable(typeof(PureMessagePacket))]
[JsonSerializable(typeof(ChannelHello))]
internal sealed partial class PacketJsonContext : JsonSerializerContext
{
}
