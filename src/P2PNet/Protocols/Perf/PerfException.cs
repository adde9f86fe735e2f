using P2PNet.Core;

namespace P2PNet.Protocols.Perf;

/// <summary>A perf failure, typed by <see cref="PerfFailure"/>.</summary>
public sealed class PerfException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public PerfException(PerfFailure error, string message) : base(message) => Error = error;

    /// <summary>Creates the exception with an inner cause.</summary>
    public PerfException(PerfFailure error, string message, Exception? inner) : base(message, inner) => Error = error;

    /// <summary>What went wrong.</summary>
    public PerfFailure Error { get; }
}
