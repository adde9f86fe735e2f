using P2PNet.Core;

namespace P2PNet.Protocols.Relay;

/// <summary>Settings of the client role of circuit relay v2.</summary>
public sealed record RelayClientOptions
{
    /// <summary>The defaults: no relays configured, 30 s per request, retries from 5 s up to 2 min.</summary>
    public static RelayClientOptions Default { get; } = new();

    /// <summary>Relays (<c>ADDR/p2p/RELAY</c>) on which <see cref="RelayClient.StartAsync"/> keeps reservations.</summary>
    public IReadOnlyList<Multiaddr> Relays { get; init; } = [];

    /// <summary>How long the relay has to answer a reservation or connect request, and we a stop request.</summary>
    public TimeSpan StreamTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How far into its lifetime a reservation is refreshed (0.75: after three quarters of it), so it never lapses.
    /// </summary>
    public double RefreshAt { get; init; } = 0.75;

    /// <summary>First wait before retrying a failed reservation; it doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest wait between reservation retries.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Inbound circuits accepted but not yet taken by the host; more are refused.</summary>
    public int MaxPendingCircuits { get; init; } = 16;
}
