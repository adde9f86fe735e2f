using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Protocols.AutoNat;

/// <summary>Source-generated log messages of AutoNAT v2 (event ids 6100–6139).</summary>
internal static partial class AutoNatLog
{
    [LoggerMessage(6100, LogLevel.Debug, "AutoNAT: dial request from {PeerId} rejected: {Reason}")]
    public static partial void RequestRejected(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(6101, LogLevel.Debug, "AutoNAT: refused to dial any of the {Count} addresses {PeerId} sent")]
    public static partial void DialRefused(ILogger logger, PeerId peerId, int count);

    [LoggerMessage(6102, LogLevel.Debug, "AutoNAT: asked {PeerId} for {Bytes} bytes of dial data before dialing {Address}")]
    public static partial void DialDataRequested(ILogger logger, PeerId peerId, int bytes, Multiaddr address);

    [LoggerMessage(6103, LogLevel.Debug, "AutoNAT: dialed {PeerId} back at {Address}: {Status}")]
    public static partial void DialedBack(ILogger logger, PeerId peerId, Multiaddr address, string status);

    [LoggerMessage(6104, LogLevel.Information, "AutoNAT: bad dial request from {PeerId} ({Error}): {Reason}; stream reset")]
    public static partial void BadRequest(ILogger logger, PeerId peerId, AutoNatError error, string reason);

    [LoggerMessage(6105, LogLevel.Debug, "AutoNAT: dial-back from {PeerId} with an unknown nonce; stream reset")]
    public static partial void UnknownNonce(ILogger logger, PeerId peerId);

    [LoggerMessage(6106, LogLevel.Information, "AutoNAT: bad dial-back from {PeerId} ({Error}): {Reason}; stream reset")]
    public static partial void BadDialBack(ILogger logger, PeerId peerId, AutoNatError error, string reason);

    [LoggerMessage(6107, LogLevel.Debug, "AutoNAT: {Server} says {Address} is {Reachability}")]
    public static partial void Checked(ILogger logger, PeerId server, Multiaddr address, Reachability reachability);

    [LoggerMessage(6108, LogLevel.Debug, "AutoNAT: asking {Server} about {Address} failed: {Reason}")]
    public static partial void CheckFailed(ILogger logger, PeerId server, Multiaddr address, string reason);

    [LoggerMessage(6109, LogLevel.Information, "AutoNAT: reachability {Previous} -> {Current} (public addresses: {Addresses})")]
    public static partial void ReachabilityChanged(ILogger logger, Reachability previous, Reachability current, string addresses);

    [LoggerMessage(6110, LogLevel.Error, "AutoNAT: a ReachabilityChanged handler threw: {Reason}")]
    public static partial void HandlerFailed(ILogger logger, string reason);

    [LoggerMessage(6111, LogLevel.Warning, "AutoNAT: a client round failed: {Reason}")]
    public static partial void RoundFailed(ILogger logger, string reason);
}
