using P2PNet.Core;

namespace P2PNet.Negotiation;

/// <summary>A multistream-select negotiation failure, typed by <see cref="NegotiationError"/>.</summary>
public sealed class NegotiationException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public NegotiationException(NegotiationError error, string message) : base(message) => Error = error;

    /// <summary>Creates the exception with an inner cause.</summary>
    public NegotiationException(NegotiationError error, string message, Exception? inner) : base(message, inner) => Error = error;

    /// <summary>What went wrong.</summary>
    public NegotiationError Error { get; }
}
