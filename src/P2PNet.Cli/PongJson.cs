using System.Text.Json.Serialization;

namespace P2PNet.Cli;

/// <summary>
/// <c>{"type":"pong","peerId":…,"seq":…,"rttMs":…}</c> (<c>ping</c>); a circuit target adds <c>"path":"relayed"</c> or
/// <c>"direct"</c>.
/// </summary>
internal sealed record PongJson(string PeerId, int Seq, double RttMs)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; } = "pong";

    /// <summary>relayed or direct, for a circuit target; absent otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Path { get; init; }
}
