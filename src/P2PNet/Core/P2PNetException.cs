namespace P2PNet.Core;

/// <summary>Base type of every error P2PNet raises on purpose; each layer derives its own typed error.</summary>
public class P2PNetException : IOException
{
    /// <summary>Creates the exception.</summary>
    public P2PNetException(string message) : base(message) { }

    /// <summary>Creates the exception with an inner cause.</summary>
    public P2PNetException(string message, Exception? inner) : base(message, inner) { }
}
