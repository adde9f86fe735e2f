using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Protocols.Identify;

/// <summary>Source-generated log messages of identify (event ids 1300–1319).</summary>
internal static partial class IdentifyLog
{
    [LoggerMessage(1300, LogLevel.Debug, "Identified {PeerId}: agent {Agent}, {Protocols} protocols, {Addresses} listen addresses")]
    public static partial void Identified(ILogger logger, PeerId peerId, string agent, int protocols, int addresses);

    [LoggerMessage(1301, LogLevel.Warning, "Identify with {PeerId} failed: {Reason}")]
    public static partial void Failed(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(1302, LogLevel.Error, "A PeerIdentified handler threw: {Reason}")]
    public static partial void HandlerFailed(ILogger logger, string reason);

    [LoggerMessage(1303, LogLevel.Debug, "Pushed our identify to {PeerId}")]
    public static partial void Pushed(ILogger logger, PeerId peerId);

    [LoggerMessage(1304, LogLevel.Debug, "Identify push to {PeerId} failed: {Reason}")]
    public static partial void PushFailed(ILogger logger, PeerId peerId, string reason);
}
