using System.Net;
using Microsoft.Extensions.Logging;

namespace P2PNet.Discovery.Mdns;

/// <summary>Source-generated log messages of mDNS discovery (event ids 2220–2239).</summary>
internal static partial class MdnsLog
{
    [LoggerMessage(2220, LogLevel.Information, "mDNS discovery of {Service} as {PeerName}, interfaces: {Interfaces}")]
    public static partial void Started(ILogger logger, string service, string peerName, string interfaces);

    [LoggerMessage(2221, LogLevel.Debug, "Ignored an mDNS datagram from {From}: {Reason}")]
    public static partial void Ignored(ILogger logger, IPEndPoint from, string reason);

    [LoggerMessage(2222, LogLevel.Warning, "Could not send mDNS on {Interface}: {Reason}")]
    public static partial void SendFailed(ILogger logger, string @interface, string reason);

    [LoggerMessage(2223, LogLevel.Warning, "Could not join {Group} on {Interface}: {Reason}")]
    public static partial void JoinFailed(ILogger logger, IPAddress group, string @interface, string reason);

    [LoggerMessage(2224, LogLevel.Information, "mDNS discovery stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(2225, LogLevel.Debug, "Rate limit: dropped mDNS datagrams from {From}")]
    public static partial void RateLimited(ILogger logger, IPAddress from);
}
