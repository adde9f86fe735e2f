namespace P2PNet.Protocols.Transfer;

/// <summary>The one-byte answer to a transfer request; anything but <see cref="Ok"/> is followed by the end of the stream.</summary>
public enum TransferStatus : byte
{
    /// <summary>The top node, proof nodes and data follow.</summary>
    Ok = 0,

    /// <summary>Not shared here.</summary>
    NotFound = 1,

    /// <summary>Shared, but not with this peer.</summary>
    Denied = 2,

    /// <summary>The range lies beyond the file or is longer than <see cref="TransferProtocol.MaxGroupsPerRequest"/>.</summary>
    BadRange = 3,

    /// <summary>Too many transfers to this peer already.</summary>
    Busy = 4,
}
