using Microsoft.Extensions.Logging;

namespace P2PNet.Muxers.Yamux;

/// <summary>Source-generated log messages of the yamux muxer (event ids 3000-3099).</summary>
internal static partial class YamuxLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Warning, Message = "yamux protocol violation ({Error}): {Detail}")]
    public static partial void ProtocolViolation(ILogger logger, YamuxError error, string detail);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "yamux session ended ({Reason})")]
    public static partial void SessionEnded(ILogger logger, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "yamux connection error")]
    public static partial void ConnectionError(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "yamux remote go-away with code {Code}")]
    public static partial void RemoteGoAway(ILogger logger, uint code);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Debug, Message = "yamux rejected inbound stream {StreamId}: {Reason}")]
    public static partial void StreamRejected(ILogger logger, uint streamId, string reason);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Trace, Message = "yamux discarded {Length} bytes for closed stream {StreamId}")]
    public static partial void DiscardedFrame(ILogger logger, uint streamId, uint length);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Debug, Message = "yamux keep-alive ping failed")]
    public static partial void KeepAliveFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Error, Message = "yamux internal error")]
    public static partial void InternalError(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Debug, Message = "yamux: more than {Backlog} inbound streams wait to be accepted; further ones are held up to the stream limit (logged once per session)")]
    public static partial void AcceptBacklogExceeded(ILogger logger, int backlog);
}
