using Microsoft.Extensions.Logging;

namespace P2PNet.Discovery.Mdns;

/// <summary>Source-generated log messages of mDNS discovery (event ids 2220–2239; shared ones in DiscoveryLog).</summary>
internal static partial class MdnsLog
{
    [LoggerMessage(2220, LogLevel.Information, "mDNS discovery of {Service} as {PeerName}, interfaces: {Interfaces}")]
    public static partial void Started(ILogger logger, string service, string peerName, string interfaces);
}
