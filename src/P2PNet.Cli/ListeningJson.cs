using System.Text.Json.Serialization;

namespace P2PNet.Cli;

/// <summary><c>{"type":"listening","addr":…}</c>, one per listen address (<c>listen</c>).</summary>
internal sealed record ListeningJson(string Addr)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; } = "listening";
}
