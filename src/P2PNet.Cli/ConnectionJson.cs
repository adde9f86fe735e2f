using System.Text.Json.Serialization;

namespace P2PNet.Cli;

/// <summary><c>{"type":"connection","event":"opened"|"closed","peerId":…,"addr":…,"direction":…}</c> (<c>listen</c>, <c>ping</c>).</summary>
internal sealed record ConnectionJson(string Event, string PeerId, string Addr, string Direction)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; } = "connection";
}
