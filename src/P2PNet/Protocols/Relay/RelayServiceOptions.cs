namespace P2PNet.Protocols.Relay;

/// <summary>Limits of a relay (the hop side of circuit relay v2). Defaults follow go-, rust- and js-libp2p.</summary>
public sealed record RelayServiceOptions
{
    /// <summary>The defaults: 1 h reservations, 128 of them, 8 per IP; 16 circuits, 4 per peer; 2 min and 128 KiB per circuit.</summary>
    public static RelayServiceOptions Default { get; } = new();

    /// <summary>How long a reservation lasts; the client refreshes it before then.</summary>
    public TimeSpan ReservationTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Most reservations held at once. A peer holds at most one: reserving again refreshes it.</summary>
    public int MaxReservations { get; init; } = 128;

    /// <summary>Most reservations held by peers connecting from one IP address.</summary>
    public int MaxReservationsPerIp { get; init; } = 8;

    /// <summary>Most reservation requests accepted from one IP address per minute (refreshes included).</summary>
    public int MaxReservationRequestsPerMinutePerIp { get; init; } = 30;

    /// <summary>Most circuits relayed at once.</summary>
    public int MaxCircuits { get; init; } = 16;

    /// <summary>Most circuits at once that one peer takes part in (as source or target).</summary>
    public int MaxCircuitsPerPeer { get; init; } = 4;

    /// <summary>Most connect requests accepted from one peer per minute.</summary>
    public int MaxConnectRequestsPerMinutePerPeer { get; init; } = 60;

    /// <summary>Longest life of one circuit; <see cref="TimeSpan.Zero"/> for no limit. Default 2 min.</summary>
    public TimeSpan MaxCircuitDuration { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Most bytes relayed in each direction of one circuit; 0 for no limit. Default 128 KiB.</summary>
    public long MaxCircuitBytes { get; init; } = 128 * 1024;

    /// <summary>How long a client has to send its hop request, and the target to answer the stop request.</summary>
    public TimeSpan StreamTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Size of each of the two copy buffers of a circuit.</summary>
    public int BufferSize { get; init; } = 8 * 1024;

    /// <summary>The limit announced to both ends of every circuit, null when both limits are off.</summary>
    public RelayLimit? Limit =>
        MaxCircuitDuration <= TimeSpan.Zero && MaxCircuitBytes <= 0
            ? null
            : new RelayLimit(MaxCircuitDuration > TimeSpan.Zero ? TimeSpan.FromSeconds(Math.Ceiling(MaxCircuitDuration.TotalSeconds)) : null,
                MaxCircuitBytes > 0 ? (ulong)MaxCircuitBytes : null);
}
