using System.Text.Json.Serialization;

namespace P2PNet.Cli;

/// <summary>
/// DCUtR's outcome (<c>ping</c> to a circuit target): <c>{"type":"direct","peerId":…,"addr":…,"attempts":…,"elapsedMs":…}</c> or
/// <c>{"type":"holepunch-failed","peerId":…,"attempts":…,"reason":…}</c>.
/// </summary>
internal sealed record HolePunchJson([property: JsonPropertyOrder(-1)] string Type, string PeerId)
{
    /// <summary>The direct connection's remote address (type direct).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Addr { get; init; }

    /// <summary>Hole-punch attempts made (1 = the first).</summary>
    public int Attempts { get; init; }

    /// <summary>Time from the relayed connection opening to the direct one, in ms (type direct).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ElapsedMs { get; init; }

    /// <summary>Why the hole punch gave up (type holepunch-failed).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Reason { get; init; }
}
