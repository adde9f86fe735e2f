using Microsoft.Extensions.Logging;

namespace P2PNet.Bootstrap;

/// <summary>Source-generated log messages of the bootstrap server (event ids 5000–5099).</summary>
internal static partial class ServerLog
{
    [LoggerMessage(5000, LogLevel.Information, "Bootstrap server ({Mode}{Authority}) listening on {Urls}, database {Database}")]
    public static partial void Started(ILogger logger, string mode, string authority, string urls, string database);

    [LoggerMessage(5001, LogLevel.Information, "Registration from {ClientIp} refused: {Error} ({Detail})")]
    public static partial void RegistrationRefused(ILogger logger, string? clientIp, string error, string detail);

    [LoggerMessage(5002, LogLevel.Information, "Expired {Count} registrations")]
    public static partial void Expired(ILogger logger, int count);

    [LoggerMessage(5003, LogLevel.Warning, "Admin {Action} {Target} from {ClientIp}")]
    public static partial void AdminAction(ILogger logger, string action, string? target, string? clientIp);

    [LoggerMessage(5004, LogLevel.Warning, "Cleanup failed: {Reason}")]
    public static partial void CleanupFailed(ILogger logger, string reason);

    [LoggerMessage(5005, LogLevel.Warning, "Rate limit hit by {ClientIp} on {Path}")]
    public static partial void RateLimited(ILogger logger, string? clientIp, string path);

    [LoggerMessage(5050, LogLevel.Information, "Admin {Action} from {ClientIp}")]
    public static partial void AdminSession(ILogger logger, string action, string? clientIp);

    [LoggerMessage(5051, LogLevel.Warning, "Admin sign-in failed from {ClientIp}")]
    public static partial void AdminSignInFailed(ILogger logger, string? clientIp);
}
