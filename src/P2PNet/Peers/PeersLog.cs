using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Peers.Packets;

namespace P2PNet.Peers;

/// <summary>Source-generated log messages of the peer layer (event ids 2000–2099).</summary>
internal static partial class PeersLog
{
    [LoggerMessage(2000, LogLevel.Information, "Peer channel open with {PeerId} ({Direction})")]
    public static partial void ChannelOpened(ILogger logger, PeerId peerId, P2PNet.Swarm.ConnectionDirection direction);

    [LoggerMessage(2001, LogLevel.Information, "Peer channel with {PeerId} closed: {Reason}")]
    public static partial void ChannelClosed(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(2002, LogLevel.Warning, "Dropped a {Type} packet from {PeerId}: trust level {Level} is below {Required} ({Count} of this type dropped on this channel; logged at 1, 10, 100, …)")]
    public static partial void PacketDropped(ILogger logger, PacketType type, PeerId peerId, PeerTrustLevel level, PeerTrustLevel required, long count);

    [LoggerMessage(2003, LogLevel.Warning, "Malformed frame from {PeerId} ({Error}), closing the channel: {Reason}")]
    public static partial void MalformedFrame(ILogger logger, PeerId peerId, PacketFormatError error, string reason);

    [LoggerMessage(2004, LogLevel.Information, "Connection to {PeerId} lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(2005, LogLevel.Information, "Reconnecting to {PeerId}: attempt {Attempt} of {Max} in {DelayMs} ms")]
    public static partial void Reconnecting(ILogger logger, PeerId peerId, int attempt, int max, double delayMs);

    [LoggerMessage(2006, LogLevel.Warning, "Reconnect {Attempt} to {PeerId} failed: {Reason}")]
    public static partial void ReconnectFailed(ILogger logger, PeerId peerId, int attempt, string reason);

    [LoggerMessage(2007, LogLevel.Error, "A handler for {Type} from {PeerId} threw: {Reason}")]
    public static partial void HandlerFailed(ILogger logger, PacketType? type, PeerId peerId, string reason);

    [LoggerMessage(2008, LogLevel.Warning, "Refused {PeerId} at {Address}: {Reason}")]
    public static partial void PeerRefused(ILogger logger, PeerId peerId, Multiaddr address, string reason);

    [LoggerMessage(2009, LogLevel.Information, "Trust level of {PeerId} changed from {From} to {To}")]
    public static partial void TrustChanged(ILogger logger, PeerId peerId, PeerTrustLevel from, PeerTrustLevel to);

    [LoggerMessage(2010, LogLevel.Information, "Message from {PeerId}: {Message}")]
    public static partial void MessageReceived(ILogger logger, PeerId peerId, string message);

    [LoggerMessage(2011, LogLevel.Warning, "Ignored an identity packet on the channel of {PeerId}: {Reason}")]
    public static partial void IdentityIgnored(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(2012, LogLevel.Debug, "Merged {Count} peers shared by {PeerId} into KnownPeers ({Skipped} skipped)")]
    public static partial void PeersMerged(ILogger logger, PeerId peerId, int count, int skipped);

    [LoggerMessage(2013, LogLevel.Warning, "Channel with {PeerId} failed: {Reason}")]
    public static partial void ChannelFailed(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(2014, LogLevel.Warning, "The trust protocol with {PeerId} failed: {Reason}")]
    public static partial void TrustProtocolFailed(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(2015, LogLevel.Error, "A {Event} handler threw: {Reason}")]
    public static partial void EventHandlerFailed(ILogger logger, string @event, string reason);

    [LoggerMessage(2016, LogLevel.Information, "Gave up reconnecting to {PeerId}")]
    public static partial void GaveUp(ILogger logger, PeerId peerId);

    [LoggerMessage(2017, LogLevel.Information, "{PeerId} disconnected: {Reason}")]
    public static partial void ChannelClosing(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(2018, LogLevel.Warning, "A {Type} packet to {PeerId} was not sent: {Reason}")]
    public static partial void PacketNotSent(ILogger logger, PacketType type, PeerId peerId, string reason);

    [LoggerMessage(2019, LogLevel.Debug, "Dialed {PeerId} while it dialed us: its dial has priority and is kept")]
    public static partial void SimultaneousDial(ILogger logger, PeerId peerId);
}
