using System.Text.Json.Serialization;

namespace P2PNet.Cli;

/// <summary>
/// DCUtR's outcome (<c>ping</c> to a circuit target): <c>{"type":"direct","peerId":…,"addr":…}</c> or
/// <c>{"type":"holepunch-failed","peerId":…,"reason":…}</c>.
/// </summary>
internal sealed record HolePunchJson([property: JsonPropertyOrder(-1)] string Type, string PeerId)
{
    /// <summary>The direct connection's remote address (type direct).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Addr { get; init; }

    /// <summary>Why the hole punch gave up (type holepunch-failed).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Reason { get; init; }
}
