using P2PNet.Core;

namespace P2PNet.Upgrade;

/// <summary>The connection upgrade failed (for example, the handshake timed out).</summary>
public sealed class UpgradeException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public UpgradeException(string message, Exception? inner = null) : base(message, inner) { }
}
