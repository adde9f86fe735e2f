using System.Text.Json.Serialization;

namespace P2PNet.Cli;

/// <summary><c>{"type":"pong","peerId":…,"seq":…,"rttMs":…}</c> (<c>ping</c>).</summary>
internal sealed record PongJson(string PeerId, int Seq, double RttMs)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; } = "pong";
}
