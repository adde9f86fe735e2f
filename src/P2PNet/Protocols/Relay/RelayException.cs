using P2PNet.Core;

namespace P2PNet.Protocols.Relay;

/// <summary>A circuit relay failure, typed by <see cref="RelayError"/>.</summary>
public sealed class RelayException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public RelayException(RelayError error, string message, RelayStatus? status = null, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
        Status = status;
    }

    /// <summary>What went wrong.</summary>
    public RelayError Error { get; }

    /// <summary>The status the remote answered with, for <see cref="RelayError.Refused"/>.</summary>
    public RelayStatus? Status { get; }
}
