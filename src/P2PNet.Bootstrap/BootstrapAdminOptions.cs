namespace P2PNet.Bootstrap;

/// <summary>Admin dashboard settings (section <c>Bootstrap:Admin</c>).</summary>
public sealed class BootstrapAdminOptions
{
    /// <summary>
    /// The admin password's PBKDF2 hash (<c>pbkdf2-sha256$iterations$salt$hash</c>, made by
    /// <c>p2pnet bootstrap hash-password</c>). When empty a random sign-in token is printed at start.
    /// </summary>
    public string? PasswordHash { get; set; }

    /// <summary>Send the admin cookie only over HTTPS (set behind TLS). Default false: Secure follows the request scheme.</summary>
    public bool RequireHttpsCookie { get; set; }

    /// <summary>How long a sign-in lasts. Default 8 hours.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Sign-in attempts per client IP per minute. Default 10.</summary>
    public int SignInsPerMinute { get; set; } = 10;
}
