using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Protocols.Dcutr;

/// <summary>Source-generated log messages of DCUtR (event ids 6200–6229, and 7500–7529).</summary>
internal static partial class DcutrLog
{
    [LoggerMessage(6200, LogLevel.Debug, "DCUtR: attempt {Attempt} with {PeerId} as {Role}: dialing {Count} address(es) (relay rtt {Rtt} ms)")]
    public static partial void Attempting(ILogger logger, int attempt, PeerId peerId, string role, int count, double rtt);

    [LoggerMessage(6201, LogLevel.Information, "DCUtR: direct connection to {PeerId} at {Address} (attempt {Attempt}, {Elapsed} ms after the relayed connection)")]
    public static partial void Upgraded(ILogger logger, PeerId peerId, Multiaddr address, int attempt, double elapsed);

    [LoggerMessage(6202, LogLevel.Information, "DCUtR: hole punch with {PeerId} failed after {Attempts} attempt(s): {Reason}")]
    public static partial void Failed(ILogger logger, PeerId peerId, int attempts, string reason);

    [LoggerMessage(6203, LogLevel.Debug, "DCUtR: attempt {Attempt} with {PeerId} failed: {Reason}")]
    public static partial void AttemptFailed(ILogger logger, int attempt, PeerId peerId, string reason);

    [LoggerMessage(6204, LogLevel.Debug, "DCUtR: refused a stream from {PeerId}: {Reason}")]
    public static partial void StreamRefused(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(6205, LogLevel.Warning, "DCUtR: a {Event} handler threw: {Reason}")]
    public static partial void HandlerFailed(ILogger logger, string @event, string reason);

    [LoggerMessage(7500, LogLevel.Debug, "DCUtR timeline with {PeerId} as {Role} (ms after the relayed connection opened): {Timeline}")]
    public static partial void Timeline(ILogger logger, PeerId peerId, string role, string timeline);
}
