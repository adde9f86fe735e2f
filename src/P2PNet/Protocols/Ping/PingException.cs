using P2PNet.Core;

namespace P2PNet.Protocols.Ping;

/// <summary>A ping failure, typed by <see cref="PingFailure"/>.</summary>
public sealed class PingException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public PingException(PingFailure error, string message) : base(message) => Error = error;

    /// <summary>Creates the exception with an inner cause.</summary>
    public PingException(PingFailure error, string message, Exception? inner) : base(message, inner) => Error = error;

    /// <summary>What went wrong.</summary>
    public PingFailure Error { get; }
}
