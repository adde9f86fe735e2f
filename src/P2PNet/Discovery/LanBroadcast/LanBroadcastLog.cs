using System.Net;
using Microsoft.Extensions.Logging;

namespace P2PNet.Discovery.LanBroadcast;

/// <summary>Source-generated log messages of LAN broadcast discovery (event ids 2200–2219).</summary>
internal static partial class LanBroadcastLog
{
    [LoggerMessage(2200, LogLevel.Information, "LAN broadcast discovery on UDP port {Port}, interfaces: {Interfaces}")]
    public static partial void Started(ILogger logger, int port, string interfaces);

    [LoggerMessage(2201, LogLevel.Debug, "Ignored a datagram from {From}: {Reason}")]
    public static partial void Ignored(ILogger logger, IPEndPoint from, string reason);

    [LoggerMessage(2202, LogLevel.Warning, "Could not announce on {Interface} to {Target}: {Reason}")]
    public static partial void SendFailed(ILogger logger, string @interface, IPAddress target, string reason);

    [LoggerMessage(2203, LogLevel.Warning, "Could not join {Group} on {Interface}: {Reason}")]
    public static partial void JoinFailed(ILogger logger, IPAddress group, string @interface, string reason);

    [LoggerMessage(2204, LogLevel.Information, "LAN broadcast discovery stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(2205, LogLevel.Debug, "Rate limit: dropped announcements from {From}")]
    public static partial void RateLimited(ILogger logger, IPAddress from);
}
