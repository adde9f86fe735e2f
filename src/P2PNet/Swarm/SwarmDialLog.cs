using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>Source-generated log messages of dialing, our addresses and the peer store (event ids 1070–1089).</summary>
internal static partial class SwarmDialLog
{
    [LoggerMessage(1070, LogLevel.Debug, "Dialing {PeerId} at {Address} failed ({Error}): {Reason}")]
    public static partial void DialAttemptFailed(ILogger logger, PeerId peerId, Multiaddr address, DialError error, string reason);

    [LoggerMessage(1071, LogLevel.Debug, "Closed a redundant connection to {PeerId} ({Direction}) at {Address}: another one is preferred")]
    public static partial void RedundantConnectionClosed(ILogger logger, PeerId peerId, ConnectionDirection direction, Multiaddr address);

    [LoggerMessage(1072, LogLevel.Information, "Confirmed observed addresses: {Addresses}")]
    public static partial void AddressesChanged(ILogger logger, string addresses);

    [LoggerMessage(1073, LogLevel.Warning, "Peer store full ({Capacity} connected peers): {PeerId} not stored")]
    public static partial void PeerStoreFull(ILogger logger, int capacity, PeerId peerId);
}
