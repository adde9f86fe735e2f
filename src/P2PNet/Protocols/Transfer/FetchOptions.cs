namespace P2PNet.Protocols.Transfer;

/// <summary>How a fetch asks and where it may write.</summary>
public sealed record FetchOptions
{
    /// <summary>Defaults: no secret, never overwrite.</summary>
    public static FetchOptions Default { get; } = new();

    /// <summary>The ticket secret to present, or empty.</summary>
    public ReadOnlyMemory<byte> Secret { get; init; }

    /// <summary>Replace an existing destination file; otherwise its existence fails the fetch.</summary>
    public bool Overwrite { get; init; }
}
