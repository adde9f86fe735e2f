using P2PNet.Core;

namespace P2PNet.Protocols.AutoNat;

/// <summary>An AutoNAT v2 failure, typed by <see cref="AutoNatError"/>.</summary>
public sealed class AutoNatException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public AutoNatException(AutoNatError error, string message) : base(message) => Error = error;

    /// <summary>Creates the exception with an inner cause.</summary>
    public AutoNatException(AutoNatError error, string message, Exception? inner) : base(message, inner) => Error = error;

    /// <summary>What went wrong.</summary>
    public AutoNatError Error { get; }
}
