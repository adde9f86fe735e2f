namespace P2PNet.Protocols.Transfer;

/// <summary>Why a transfer failed.</summary>
public enum TransferError
{
    /// <summary>Data or a proof node did not hash to what the tree says: the provider is dropped.</summary>
    Corrupt,

    /// <summary>The stream ended early.</summary>
    Truncated,

    /// <summary>A request or response broke a protocol limit or did not parse.</summary>
    Malformed,

    /// <summary>The provider does not share the content, or not with us.</summary>
    NotFound,

    /// <summary>The provider refused us access (no Enhanced trust, no ticket, or not on the allow list).</summary>
    Denied,

    /// <summary>The range lies beyond the file or is too long.</summary>
    BadRange,

    /// <summary>The provider is serving as many transfers to us as it allows.</summary>
    Busy,

    /// <summary>No bytes moved within the idle timeout.</summary>
    Timeout,

    /// <summary>Every provider was dropped before the file was complete; the partial file stays resumable.</summary>
    NoProviders,

    /// <summary>The destination exists (pass overwrite), or its name is not a plain file name.</summary>
    Destination,
}
