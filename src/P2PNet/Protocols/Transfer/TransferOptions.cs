namespace P2PNet.Protocols.Transfer;

/// <summary>Limits of the transfer protocol, for serving and fetching.</summary>
public sealed record TransferOptions
{
    /// <summary>Defaults as documented on each property.</summary>
    public static TransferOptions Default { get; } = new();

    /// <summary>How long a stream may move no bytes before it fails. Default 30 s.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Most transfers served to one peer at a time; more are answered Busy. Default 8.</summary>
    public int MaxConcurrentPerPeer { get; init; } = 8;

    /// <summary>Serving rate over all streams in bytes per second; null for no limit (for measurements).</summary>
    public long? MaxBytesPerSecond { get; init; }

    /// <summary>Groups (16 KiB) a fetch asks of one provider per request. Default 256 (4 MiB).</summary>
    public int GroupsPerRequest { get; init; } = 256;

    /// <summary>Requests a fetch keeps in flight per provider, to hide the round trip. Default 2.</summary>
    public int RequestsPerProvider { get; init; } = 2;

    /// <summary>Folder for tree files; null keeps <c>&lt;file&gt;.p2pnet-tree</c> beside each shared file.</summary>
    public string? TreeDirectory { get; init; }
}
