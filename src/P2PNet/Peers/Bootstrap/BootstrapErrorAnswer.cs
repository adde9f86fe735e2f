namespace P2PNet.Peers.Bootstrap;

/// <summary>The body of a refused request (4xx): a machine-readable code and a sentence.</summary>
public sealed record BootstrapErrorAnswer
{
    /// <summary>Short code, e.g. <c>bad-signature</c>, <c>stale</c>, <c>replayed</c>, <c>malformed</c>.</summary>
    public string Error { get; init; } = "";

    /// <summary>What was wrong.</summary>
    public string? Detail { get; init; }
}
