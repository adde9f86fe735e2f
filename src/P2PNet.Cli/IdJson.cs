using System.Text.Json.Serialization;

namespace P2PNet.Cli;

/// <summary><c>{"type":"id","peerId":…,"keyFile":…,"created":…}</c> (<c>id</c>).</summary>
internal sealed record IdJson(string PeerId, string? KeyFile, bool Created)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; } = "id";
}
