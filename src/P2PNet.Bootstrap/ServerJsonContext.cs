using System.Text.Json.Serialization;

namespace P2PNet.Bootstrap;

/// <summary>Source-generated JSON metadata of the server's own types (admin API, stored address lists).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(AdminSignIn))]
[JsonSerializable(typeof(AdminOverview))]
[JsonSerializable(typeof(List<StoredPeer>))]
[JsonSerializable(typeof(List<AdminLogEntry>))]
internal sealed partial class ServerJsonContext : JsonSerializerContext
{
}
