namespace P2PNet.Bootstrap;

/// <summary>A peers-table row as the admin dashboard shows it.</summary>
public sealed record StoredPeer
{
    /// <summary>The PeerId.</summary>
    public string PeerId { get; init; } = "";

    /// <summary>The network name.</summary>
    public string Network { get; init; } = "";

    /// <summary>The registered addresses.</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];

    /// <summary>First registration, Unix milliseconds.</summary>
    public long FirstSeen { get; init; }

    /// <summary>Last registration or heartbeat, Unix milliseconds.</summary>
    public long LastSeen { get; init; }

    /// <summary>The IP address the last registration came from.</summary>
    public string? RemoteIp { get; init; }

    /// <summary>True when the PeerId is blocked.</summary>
    public bool Blocked { get; init; }
}
