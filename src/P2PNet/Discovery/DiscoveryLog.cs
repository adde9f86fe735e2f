using System.Net;
using Microsoft.Extensions.Logging;

namespace P2PNet.Discovery;

/// <summary>Source-generated log messages shared by the datagram discovery mechanisms (event ids 2190–2199).</summary>
internal static partial class DiscoveryLog
{
    [LoggerMessage(2190, LogLevel.Debug, "{Source}: ignored a datagram from {From}: {Reason}")]
    public static partial void Ignored(ILogger logger, string source, IPEndPoint from, string reason);

    [LoggerMessage(2191, LogLevel.Debug, "{Source}: rate limit, dropped datagrams from {From}")]
    public static partial void RateLimited(ILogger logger, string source, IPAddress from);

    [LoggerMessage(2192, LogLevel.Warning, "{Source}: a PeerDiscovered handler threw: {Reason}")]
    public static partial void HandlerFailed(ILogger logger, string source, string reason);

    [LoggerMessage(2193, LogLevel.Warning, "{Source}: could not join {Group} on {Interface}: {Reason}")]
    public static partial void JoinFailed(ILogger logger, string source, IPAddress group, string @interface, string reason);

    [LoggerMessage(2194, LogLevel.Warning, "{Source}: could not send on {Interface} to {Target}: {Reason}")]
    public static partial void SendFailed(ILogger logger, string source, string @interface, IPEndPoint target, string reason);

    [LoggerMessage(2195, LogLevel.Information, "{Source} discovery stopped")]
    public static partial void Stopped(ILogger logger, string source);

    [LoggerMessage(2196, LogLevel.Warning, "{Source}: cannot announce: {Reason}")]
    public static partial void CannotAnnounce(ILogger logger, string source, string reason);
}
