using P2PNet.Peers.Bootstrap;

namespace P2PNet.Bootstrap;

/// <summary>
/// Settings of the bootstrap server: section <c>Bootstrap</c> of appsettings.json; every key can be set by
/// an environment variable, <c>P2PNET_Bootstrap__Key</c> (or <c>Bootstrap__Key</c>), nested keys with <c>__</c>
/// (e.g. <c>P2PNET_Bootstrap__Admin__PasswordHash</c>), arrays by index (<c>P2PNET_Bootstrap__TrustedProxies__0</c>).
/// </summary>
public sealed class BootstrapServerOptions
{
    /// <summary>The SQLite file (created on first start). Default <c>bootstrap.db</c>.</summary>
    public string Database { get; set; } = "bootstrap.db";

    /// <summary>Trustless (peer lists only) or Authority (signed answers, network tasks). Default Trustless.</summary>
    public BootstrapMode Mode { get; set; } = BootstrapMode.Trustless;

    /// <summary>The authority's Ed25519 key file (created when missing, mode 0600). Default <c>bootstrap.key</c>.</summary>
    public string IdentityKeyFile { get; set; } = "bootstrap.key";

    /// <summary>How long a registration lives without a heartbeat. Default 5 minutes.</summary>
    public TimeSpan PeerTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How far a registration's timestamp may be from the server clock. Default 2 minutes (must be below <see cref="PeerTtl"/>).</summary>
    public TimeSpan FreshnessWindow { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often expired registrations are deleted. Default 30 s.</summary>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Most peers in one answer. Default 50.</summary>
    public int MaxPeersPerQuery { get; set; } = 50;

    /// <summary>Largest request body accepted, in bytes. Default 16384.</summary>
    public int MaxRequestBodyBytes { get; set; } = BootstrapLimits.MaxRegistrationBytes;

    /// <summary>Proxies whose X-Forwarded-For is believed (IP addresses); empty: headers are ignored. Default empty.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Registrations (and heartbeats) per client IP per minute. Default 60.</summary>
    public int RegistrationsPerMinute { get; set; } = 60;

    /// <summary>Queries (peers, my-ip, identity) per client IP per minute. Default 120.</summary>
    public int QueriesPerMinute { get; set; } = 120;

    /// <summary>
    /// Path of the Prometheus scraping endpoint (OpenTelemetry exporter: ASP.NET Core, Kestrel, rate-limiting and
    /// P2PNet meters); empty turns it off. Default <c>/metrics</c>.
    /// </summary>
    public string MetricsPath { get; set; } = "/metrics";

    /// <summary>Admin dashboard settings.</summary>
    public BootstrapAdminOptions Admin { get; set; } = new();
}
