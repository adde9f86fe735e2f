using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Peers;

/// <summary>Source-generated log messages of peer discovery in the peer layer (event ids 2100–2149).</summary>
internal static partial class PeerDiscoveryLog
{
    [LoggerMessage(2100, LogLevel.Information, "Discovered {PeerId} by {Source} at {Addresses}")]
    public static partial void Discovered(ILogger logger, PeerId peerId, string source, string addresses);

    [LoggerMessage(2101, LogLevel.Debug, "Shared {Count} peers with {PeerId}")]
    public static partial void Shared(ILogger logger, int count, PeerId peerId);

    [LoggerMessage(2102, LogLevel.Debug, "Peer exchange with {PeerId} skipped: {Reason}")]
    public static partial void ShareFailed(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(2103, LogLevel.Information, "Auto-connect: dialing {PeerId} ({Active} of {Target} channels)")]
    public static partial void Dialing(ILogger logger, PeerId peerId, int active, int target);

    [LoggerMessage(2104, LogLevel.Information, "Auto-connect to {PeerId} failed ({Failures} in a row, next try in {DelayMs} ms): {Reason}")]
    public static partial void DialFailed(ILogger logger, PeerId peerId, int failures, double delayMs, string reason);

    [LoggerMessage(2105, LogLevel.Warning, "Dropped address {Address} of {PeerId}: the peer there is {Actual}")]
    public static partial void AddressDropped(ILogger logger, Multiaddr address, PeerId peerId, string actual);

    [LoggerMessage(2106, LogLevel.Warning, "Discovery {Source} failed to start: {Reason}")]
    public static partial void SourceFailed(ILogger logger, string source, string reason);

    [LoggerMessage(2107, LogLevel.Error, "Auto-connect round failed: {Reason}")]
    public static partial void RoundFailed(ILogger logger, string reason);

    [LoggerMessage(2108, LogLevel.Information, "{PeerId} is not a P2PNet peer (it refused the channel protocol: {Reason}); forgotten and not dialed again")]
    public static partial void NotAP2PNetPeer(ILogger logger, PeerId peerId, string reason);
}
