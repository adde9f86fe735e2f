namespace P2PNet.Protocols.Relay;

/// <summary>Settings of <see cref="AutoRelay"/>.</summary>
public sealed record AutoRelayOptions
{
    /// <summary>The defaults: up to 2 relays, checked every 30 s besides connection and identify events.</summary>
    public static AutoRelayOptions Default { get; } = new();

    /// <summary>Most relays reserved at once while the node is private. Default 2.</summary>
    public int MaxRelays { get; init; } = 2;

    /// <summary>How often the choice is checked again, besides on connection, identify and reachability events. Default 30 s.</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a relay that refused or failed a reservation is passed over. Default 2 min.</summary>
    public TimeSpan Backoff { get; init; } = TimeSpan.FromMinutes(2);
}
