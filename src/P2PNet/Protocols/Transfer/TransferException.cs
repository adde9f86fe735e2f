using P2PNet.Core;

namespace P2PNet.Protocols.Transfer;

/// <summary>A transfer failure, typed by <see cref="TransferError"/>.</summary>
public sealed class TransferException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public TransferException(TransferError error, string message) : base(message) => Error = error;

    /// <summary>Creates the exception with an inner cause.</summary>
    public TransferException(TransferError error, string message, Exception? inner) : base(message, inner) => Error = error;

    /// <summary>What went wrong.</summary>
    public TransferError Error { get; }
}
