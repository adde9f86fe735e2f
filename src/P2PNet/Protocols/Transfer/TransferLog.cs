using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Protocols.Transfer;

/// <summary>Log messages of the transfer protocol (event ids 5700–5799).</summary>
internal static partial class TransferLog
{
    [LoggerMessage(EventId = 5700, Level = LogLevel.Information, Message = "Sharing {Name} ({Size} bytes) as {Id}")]
    public static partial void Shared(ILogger logger, string name, long size, ContentId id);

    [LoggerMessage(EventId = 5701, Level = LogLevel.Debug, Message = "Refused a transfer request from {PeerId}: {Status}")]
    public static partial void Refused(ILogger logger, PeerId peerId, TransferStatus status);

    [LoggerMessage(EventId = 5702, Level = LogLevel.Warning, Message = "Dropped transfer request from {PeerId}: {Reason}")]
    public static partial void BadRequest(ILogger logger, PeerId peerId, string reason);

    [LoggerMessage(EventId = 5703, Level = LogLevel.Warning, Message = "Dropping provider {PeerId} from the fetch of {Id}: {Reason}")]
    public static partial void ProviderDropped(ILogger logger, PeerId peerId, ContentId id, string reason);

    [LoggerMessage(EventId = 5704, Level = LogLevel.Debug, Message = "Served {Groups} groups from {First} of {Id} to {PeerId}")]
    public static partial void Served(ILogger logger, long groups, long first, ContentId id, PeerId peerId);

    [LoggerMessage(EventId = 5705, Level = LogLevel.Information, Message = "Fetched {Id} into {Path}: {Fetched} bytes fetched, {Resumed} resumed")]
    public static partial void Fetched(ILogger logger, ContentId id, string path, long fetched, long resumed);

    [LoggerMessage(EventId = 5706, Level = LogLevel.Warning, Message = "A FileOffered handler threw")]
    public static partial void OfferHandlerFailed(ILogger logger, Exception exception);
}
