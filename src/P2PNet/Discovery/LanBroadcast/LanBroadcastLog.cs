using Microsoft.Extensions.Logging;

namespace P2PNet.Discovery.LanBroadcast;

/// <summary>Source-generated log messages of LAN broadcast discovery (event ids 2200–2219; shared ones in DiscoveryLog).</summary>
internal static partial class LanBroadcastLog
{
    [LoggerMessage(2200, LogLevel.Information, "LAN broadcast discovery on UDP port {Port}, interfaces: {Interfaces}")]
    public static partial void Started(ILogger logger, int port, string interfaces);
}
