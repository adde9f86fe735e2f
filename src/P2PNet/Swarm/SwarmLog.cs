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

    // 1050–1069: admission, limits, gater and refusals.

    [LoggerMessage(1050, LogLevel.Warning, "Resource limit reached: {Limit} {Subject} ({Suppressed} more hits since the last report)")]
    public static partial void LimitReached(ILogger logger, string limit, string subject, int suppressed);

    [LoggerMessage(1051, LogLevel.Information, "Connection from {Address} closed at accept by the connection gater ({Suppressed} more since the last report)")]
    public static partial void AcceptGated(ILogger logger, Multiaddr address, int suppressed);

    [LoggerMessage(1052, LogLevel.Information, "Refusing {PeerId} ({Direction}) at {Address}: {Reason} {Message}")]
    public static partial void SecuredRefused(ILogger logger, PeerId peerId, ConnectionDirection direction, Multiaddr address, RefusalReason reason, string message);

    [LoggerMessage(1053, LogLevel.Information, "{PeerId} refused our connection: {Reason} {Message}")]
    public static partial void RefusedByRemote(ILogger logger, PeerId peerId, RefusalReason reason, string message);

    [LoggerMessage(1054, LogLevel.Debug, "Could not tell {PeerId} why it was refused: {Reason}")]
    public static partial void RefusalNotSent(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(1055, LogLevel.Debug, "Dial to {Address} blocked by the connection gater")]
    public static partial void DialGated(ILogger logger, Multiaddr address);

    [LoggerMessage(1056, LogLevel.Debug, "Inbound stream {Protocol} from {PeerId} reset: {Reason}")]
    public static partial void StreamRefused(ILogger logger, PeerId peerId, string protocol, string reason);

    [LoggerMessage(1057, LogLevel.Warning, "{Count} more inbound handshakes failed in the last interval (not logged one by one)")]
    public static partial void HandshakeFailuresSuppressed(ILogger logger, int count);

    [LoggerMessage(1058, LogLevel.Warning, "Accepting on {Address} failed, retrying: {Reason} ({Suppressed} more since the last report)")]
    public static partial void AcceptFailed(ILogger logger, Multiaddr address, string reason, int suppressed);
}
