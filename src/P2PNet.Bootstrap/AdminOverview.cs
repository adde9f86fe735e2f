namespace P2PNet.Bootstrap;

/// <summary>The dashboard's overview.</summary>
public sealed record AdminOverview
{
    /// <summary>Live (unexpired) peers.</summary>
    public long PeerCount { get; init; }

    /// <summary>Accepted registrations and heartbeats in the last minute.</summary>
    public long RegistrationsPerMinute { get; init; }

    /// <summary>Trustless or Authority.</summary>
    public string Mode { get; init; } = "";

    /// <summary>The authority PeerId (authority mode).</summary>
    public string? Identity { get; init; }

    /// <summary>Blocked PeerIds.</summary>
    public int BlockedCount { get; init; }

    /// <summary>Seconds since start.</summary>
    public long UptimeSeconds { get; init; }
}
