using P2PNet.Core;

namespace P2PNet.Protocols.Dcutr;

/// <summary>A DCUtR exchange failed, typed by <see cref="DcutrError"/>.</summary>
public sealed class DcutrException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public DcutrException(DcutrError error, string message, Exception? inner = null) : base(message, inner) => Error = error;

    /// <summary>What went wrong.</summary>
    public DcutrError Error { get; }
}
