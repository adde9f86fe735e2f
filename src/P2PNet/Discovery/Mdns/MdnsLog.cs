using System.Net;
using Microsoft.Extensions.Logging;

namespace P2PNet.Discovery.Mdns;

/// <summary>Source-generated log messages of mDNS discovery (event ids 2220–2239; shared ones in DiscoveryLog).</summary>
internal static partial class MdnsLog
{
    [LoggerMessage(2220, LogLevel.Information, "mDNS discovery of {Service} as {PeerName}, interfaces: {Interfaces}")]
    public static partial void Started(ILogger logger, string service, string peerName, string interfaces);

    [LoggerMessage(2221, LogLevel.Warning, "mDNS: not using {Group} (the other family goes on): {Reason}")]
    public static partial void FamilyOff(ILogger logger, IPAddress group, string reason);

    [LoggerMessage(2222, LogLevel.Debug, "mDNS: no usable IPv6 source address on {Interface} yet (link-local still tentative), skipped a send to {Target}")]
    public static partial void NoIPv6SourceYet(ILogger logger, string @interface, IPEndPoint target);
}
