using System.Text.Json.Serialization;

namespace P2PNet.Peers.Bootstrap;

/// <summary>
/// Source-generated JSON metadata of the bootstrap protocol (no reflection; AOT-safe): camelCase names,
/// enums as names, nulls omitted, unknown properties ignored. Shared by the client and the server.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(BootstrapRegistration))]
[JsonSerializable(typeof(BootstrapRegistrationAnswer))]
[JsonSerializable(typeof(BootstrapPeersAnswer))]
[JsonSerializable(typeof(BootstrapIdentityAnswer))]
[JsonSerializable(typeof(BootstrapIpAnswer))]
[JsonSerializable(typeof(BootstrapEnvelope))]
[JsonSerializable(typeof(BootstrapErrorAnswer))]
public sealed partial class BootstrapJsonContext : JsonSerializerContext
{
}
