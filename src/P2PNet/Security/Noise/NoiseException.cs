using P2PNet.Core;

namespace P2PNet.Security.Noise;

/// <summary>A failure of the Noise secure channel, typed by <see cref="Error"/>.</summary>
public sealed class NoiseException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public NoiseException(NoiseError error, string message) : base(message) => Error = error;

    /// <summary>Creates the exception with an inner cause.</summary>
    public NoiseException(NoiseError error, string message, Exception? inner) : base(message, inner) => Error = error;

    /// <summary>What went wrong.</summary>
    public NoiseError Error { get; }
}
