using System.Text.Json.Serialization;

namespace P2PNet.Cli;

/// <summary>Source-generated serializers of the <c>--json</c> lines (trim- and AOT-clean).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(IdJson))]
[JsonSerializable(typeof(ListeningJson))]
[JsonSerializable(typeof(ConnectionJson))]
[JsonSerializable(typeof(DiscoveredJson))]
[JsonSerializable(typeof(PongJson))]
[JsonSerializable(typeof(SummaryJson))]
[JsonSerializable(typeof(HolePunchJson))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
