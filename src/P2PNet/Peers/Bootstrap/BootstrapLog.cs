using Microsoft.Extensions.Logging;

namespace P2PNet.Peers.Bootstrap;

/// <summary>Source-generated log messages of the bootstrap client (event ids 2150–2199; 2100–2149 are peer discovery's).</summary>
internal static partial class BootstrapLog
{
    [LoggerMessage(2150, LogLevel.Information, "Bootstrap server {Server} is {Mode} (authority {Authority})")]
    public static partial void Connected(ILogger logger, Uri server, BootstrapMode mode, string authority);

    [LoggerMessage(2151, LogLevel.Debug, "Registered with {Server} ({Count} addresses)")]
    public static partial void Registered(ILogger logger, Uri server, int count);

    [LoggerMessage(2152, LogLevel.Information, "Bootstrap server {Server} returned {Count} peers, {New} new")]
    public static partial void PeersReceived(ILogger logger, Uri server, int count, int @new);

    [LoggerMessage(2153, LogLevel.Warning, "Heartbeat to {Server} failed: {Reason}")]
    public static partial void HeartbeatFailed(ILogger logger, Uri server, string reason);

    [LoggerMessage(2154, LogLevel.Information, "Could not connect to bootstrap peer {PeerId}: {Reason}")]
    public static partial void AutoConnectFailed(ILogger logger, string peerId, string reason);

    [LoggerMessage(2155, LogLevel.Warning, "Applied network task from authority {Authority}: {Kind} {Target}")]
    public static partial void TaskApplied(ILogger logger, string authority, string kind, string target);

    [LoggerMessage(2156, LogLevel.Warning, "Ignored an entry from {Server}: {Reason}")]
    public static partial void EntryIgnored(ILogger logger, Uri server, string reason);
}
