using P2PNet.Core;

namespace P2PNet.Muxers.Yamux;

/// <summary>A yamux session or stream failure, typed by <see cref="Error"/>.</summary>
public sealed class YamuxException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public YamuxException(YamuxError error, string message) : base(message) => Error = error;

    /// <summary>Creates the exception with an inner cause.</summary>
    public YamuxException(YamuxError error, string message, Exception? inner) : base(message, inner) => Error = error;

    /// <summary>What went wrong.</summary>
    public YamuxError Error { get; }
}
