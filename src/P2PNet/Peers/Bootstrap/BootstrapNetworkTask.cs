namespace P2PNet.Peers.Bootstrap;

/// <summary>
/// An order from an authority server to the nodes of a network (for example <see cref="BlockIdentifier"/>).
/// It travels inside a signed answer; clients apply it only when the signature and the pinned authority check out.
/// </summary>
public sealed record BootstrapNetworkTask
{
    /// <summary>The kind that blocks an identifier: <see cref="Target"/> is a PeerId.</summary>
    public const string BlockIdentifier = "block-identifier";

    /// <summary>What to do (<see cref="BlockIdentifier"/>; unknown kinds are ignored).</summary>
    public string Kind { get; init; } = "";

    /// <summary>What it applies to.</summary>
    public string Target { get; init; } = "";

    /// <summary>When the authority issued it, Unix milliseconds.</summary>
    public long IssuedAt { get; init; }
}
