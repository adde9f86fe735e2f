namespace P2PNet.Bootstrap;

/// <summary>One admin action, as stored in the admin_log table.</summary>
public sealed record AdminLogEntry
{
    /// <summary>When, Unix milliseconds.</summary>
    public long At { get; init; }

    /// <summary>What (sign-in, sign-in-failed, block, unblock, sign-out).</summary>
    public string Action { get; init; } = "";

    /// <summary>On what (a PeerId), if anything.</summary>
    public string? Target { get; init; }

    /// <summary>From which client IP.</summary>
    public string? ClientIp { get; init; }
}
