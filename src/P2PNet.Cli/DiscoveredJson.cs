using System.Text.Json.Serialization;

namespace P2PNet.Cli;

/// <summary><c>{"type":"discovered","peerId":…,"source":…,"addrs":[…]}</c> (<c>listen</c> with discovery).</summary>
internal sealed record DiscoveredJson(string PeerId, string Source, IReadOnlyList<string> Addrs)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; } = "discovered";
}
