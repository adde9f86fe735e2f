using P2PNet.Core;

namespace P2PNet.Discovery;

/// <summary>A discovery operation failed; <see cref="Error"/> says why.</summary>
public sealed class DiscoveryException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public DiscoveryException(DiscoveryError error, string message, Exception? inner = null) : base(message, inner) => Error = error;

    /// <summary>Why.</summary>
    public DiscoveryError Error { get; }
}
