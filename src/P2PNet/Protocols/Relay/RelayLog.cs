using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Protocols.Relay;

/// <summary>Source-generated log messages of circuit relay (event ids 6000–6049).</summary>
internal static partial class RelayLog
{
    [LoggerMessage(6000, LogLevel.Debug, "Relay: reservation for {PeerId} until {Expires}")]
    public static partial void Reserved(ILogger logger, PeerId peerId, DateTimeOffset expires);

    [LoggerMessage(6001, LogLevel.Debug, "Relay: refused {Request} from {PeerId}: {Status} ({Reason})")]
    public static partial void Refused(ILogger logger, string request, PeerId peerId, RelayStatus status, string reason);

    [LoggerMessage(6002, LogLevel.Debug, "Relay: circuit {Source} -> {Target} open ({Limit})")]
    public static partial void CircuitOpened(ILogger logger, PeerId source, PeerId target, RelayLimit? limit);

    [LoggerMessage(6003, LogLevel.Information, "Relay: circuit {Source} -> {Target} ended: {Outcome}")]
    public static partial void CircuitEnded(ILogger logger, PeerId source, PeerId target, string outcome);

    [LoggerMessage(6004, LogLevel.Debug, "Relay: bad hop request from {PeerId}: {Reason}")]
    public static partial void BadRequest(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(6010, LogLevel.Information, "Relay client: reserved on {Relay} until {Expires}")]
    public static partial void ClientReserved(ILogger logger, Multiaddr relay, DateTimeOffset expires);

    [LoggerMessage(6011, LogLevel.Warning, "Relay client: reservation on {Relay} failed: {Reason}")]
    public static partial void ClientReserveFailed(ILogger logger, Multiaddr relay, string reason);

    [LoggerMessage(6012, LogLevel.Information, "Relay client: reservation on {Relay} lost: {Reason}")]
    public static partial void ClientReservationLost(ILogger logger, Multiaddr relay, string reason);

    [LoggerMessage(6013, LogLevel.Debug, "Relay client: refused stop request from {Relay}: {Reason}")]
    public static partial void StopRefused(ILogger logger, PeerId relay, string reason);

    [LoggerMessage(6014, LogLevel.Information, "Relay client: circuit with {PeerId} via {Relay} closed: {Reason}")]
    public static partial void CircuitClosed(ILogger logger, PeerId peerId, PeerId relay, string reason);

    [LoggerMessage(6300, LogLevel.Information, "Auto-relay: reachability {Reachability}, {Held} relays held")]
    public static partial void AutoRelayReachability(ILogger logger, string reachability, int held);

    [LoggerMessage(6301, LogLevel.Information, "Auto-relay: reserved on {Relay}")]
    public static partial void AutoRelayChose(ILogger logger, PeerId relay);

    [LoggerMessage(6302, LogLevel.Information, "Auto-relay: released {Relay}: {Reason}")]
    public static partial void AutoRelayReleased(ILogger logger, PeerId relay, string reason);

    [LoggerMessage(6303, LogLevel.Debug, "Auto-relay: {Relay} refused or failed a reservation: {Reason}")]
    public static partial void AutoRelayFailed(ILogger logger, PeerId relay, string reason);
}
