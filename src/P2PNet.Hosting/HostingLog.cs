using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Hosting;

/// <summary>Log messages of the hosted network (event ids 7400–7409).</summary>
internal static partial class HostingLog
{
    [LoggerMessage(7400, LogLevel.Information, "P2PNet node {PeerId} listening on {Address}")]
    public static partial void Listening(ILogger logger, PeerId peerId, Multiaddr address);

    [LoggerMessage(7401, LogLevel.Information, "Connected to {Address}")]
    public static partial void Connected(ILogger logger, Multiaddr address);

    [LoggerMessage(7402, LogLevel.Warning, "Could not connect to {Address}: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, Multiaddr address, string reason);

    [LoggerMessage(7403, LogLevel.Information, "P2PNet node {PeerId} stopped")]
    public static partial void Stopped(ILogger logger, PeerId peerId);
}
