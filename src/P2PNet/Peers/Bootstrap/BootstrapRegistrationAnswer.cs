namespace P2PNet.Peers.Bootstrap;

/// <summary>The answer to an accepted registration or heartbeat.</summary>
public sealed record BootstrapRegistrationAnswer
{
    /// <summary>The registered PeerId.</summary>
    public string PeerId { get; init; } = "";

    /// <summary>The timestamp of the accepted registration (echoed, so the answer is bound to it).</summary>
    public long Timestamp { get; init; }

    /// <summary>Seconds until the registration expires without a heartbeat.</summary>
    public int TtlSeconds { get; init; }

    /// <summary>The caller's address as the server sees it.</summary>
    public string? ObservedAddress { get; init; }
}
