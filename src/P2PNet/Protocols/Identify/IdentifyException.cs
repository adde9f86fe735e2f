using P2PNet.Core;

namespace P2PNet.Protocols.Identify;

/// <summary>An Identify failure, typed by <see cref="IdentifyError"/>.</summary>
public sealed class IdentifyException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public IdentifyException(IdentifyError error, string message) : base(message) => Error = error;

    /// <summary>Creates the exception with an inner cause.</summary>
    public IdentifyException(IdentifyError error, string message, Exception? inner) : base(message, inner) => Error = error;

    /// <summary>What went wrong.</summary>
    public IdentifyError Error { get; }
}
