using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Peers;

/// <summary>Source-generated log messages of channel sessions: resumption and packets never acknowledged (event ids 2250–2279, 7530–7559).</summary>
internal static partial class ResumeLog
{
    [LoggerMessage(2250, LogLevel.Information, "Channel with {PeerId} is resuming: waiting up to {Seconds} s for the peer to redial")]
    public static partial void Resuming(ILogger logger, PeerId peerId, double seconds);

    [LoggerMessage(2251, LogLevel.Information, "Channel with {PeerId} resumed: the peer had received {Received} packets, {Replayed} replayed")]
    public static partial void Resumed(ILogger logger, PeerId peerId, long received, int replayed);

    [LoggerMessage(2252, LogLevel.Information, "Channel with {PeerId}: resume window of {Seconds} s expired")]
    public static partial void WindowExpired(ILogger logger, PeerId peerId, double seconds);

    [LoggerMessage(2253, LogLevel.Warning, "Channel with {PeerId} started a new session ({Count} packets not acknowledged): {Reason}")]
    public static partial void SessionLost(ILogger logger, PeerId peerId, int count, string reason);

    [LoggerMessage(2254, LogLevel.Warning, "{Count} packets to {PeerId} were not acknowledged: {Reason}")]
    public static partial void PacketsLost(ILogger logger, int count, PeerId peerId, string reason);

    [LoggerMessage(7530, LogLevel.Information, "Channel with {PeerId}: the stream resuming it failed before the channel adopted it: {Reason}")]
    public static partial void OfferFailed(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(7531, LogLevel.Warning, "Channel with {PeerId} is waiting to resume and could not adopt the peer's new session (state {State}): it ends")]
    public static partial void NewSessionNotAdopted(ILogger logger, PeerId peerId, PeerChannelState state);
}
