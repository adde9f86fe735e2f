using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>Source-generated log messages of the swarm layer (event ids 1000–1099).</summary>
internal static partial class SwarmLog
{
    [LoggerMessage(1000, LogLevel.Information, "Listening on {Address}")]
    public static partial void Listening(ILogger logger, Multiaddr address);

    [LoggerMessage(1001, LogLevel.Information, "Connection opened: {PeerId} ({Direction}) at {Address}")]
    public static partial void ConnectionOpened(ILogger logger, PeerId peerId, ConnectionDirection direction, Multiaddr address);

    [LoggerMessage(1002, LogLevel.Information, "Connection closed: {PeerId} at {Address}")]
    public static partial void ConnectionClosed(ILogger logger, PeerId peerId, Multiaddr address);

    [LoggerMessage(1003, LogLevel.Warning, "Handshake with {Address} failed, connection closed: {Reason}")]
    public static partial void HandshakeFailed(ILogger logger, Multiaddr address, string reason);

    [LoggerMessage(1004, LogLevel.Warning, "Connection refused from {Address}: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, Multiaddr address, string reason);

    [LoggerMessage(1005, LogLevel.Warning, "Connection to {PeerId} failed: {Reason}")]
    public static partial void ConnectionFailed(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(1006, LogLevel.Debug, "Stream {Protocol} with {PeerId} failed: {Reason}")]
    public static partial void StreamFailed(ILogger logger, PeerId peerId, string protocol, string reason);

    [LoggerMessage(1007, LogLevel.Error, "A {Event} event handler threw: {Reason}")]
    public static partial void EventHandlerFailed(ILogger logger, string @event, string reason);
}
