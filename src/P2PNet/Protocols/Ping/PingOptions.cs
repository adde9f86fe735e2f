namespace P2PNet.Protocols.Ping;

/// <summary>Limits of the ping protocol, for the pinging and the serving side.</summary>
public sealed record PingOptions
{
    /// <summary>Defaults: 10 s per ping, 60 s idle allowance when serving, unlimited pings per stream.</summary>
    public static PingOptions Default { get; } = new();

    /// <summary>How long one ping may wait for its echo.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a served stream may stay silent between pings before it is dropped. Rust and go dialers reuse
    /// one stream and ping every ~15 s, so this must comfortably exceed that.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Most pings echoed on one stream before serving stops; null for no limit.</summary>
    public int? MaxPingsPerStream { get; init; }
}
