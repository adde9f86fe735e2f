using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Peers;

/// <summary>Source-generated log messages of channels over limited (relayed) connections (event ids 2300–2349).</summary>
internal static partial class RelayedChannelLog
{
    [LoggerMessage(2300, LogLevel.Information, "Channel with {PeerId}: the relay limit ended its circuit, reopening ({Reason})")]
    public static partial void RelayLimitReached(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(2301, LogLevel.Information, "Channel with {PeerId} runs on a relayed connection and a direct one appeared: moving onto it")]
    public static partial void Moving(ILogger logger, PeerId peerId);

    [LoggerMessage(2302, LogLevel.Information, "Channel with {PeerId} reopened on {Address} ({Reason})")]
    public static partial void Reopened(ILogger logger, PeerId peerId, Multiaddr address, ChannelReopenReason reason);

    [LoggerMessage(2303, LogLevel.Warning, "Channel with {PeerId} could not move onto the direct connection, reconnecting: {Reason}")]
    public static partial void MoveFailed(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(2304, LogLevel.Debug, "Channel to {PeerId}: only a limited (relayed) connection, waiting up to {Seconds} s for a direct one")]
    public static partial void AwaitingDirect(ILogger logger, PeerId peerId, double seconds);
}
