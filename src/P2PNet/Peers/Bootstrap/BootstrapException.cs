using P2PNet.Core;

namespace P2PNet.Peers.Bootstrap;

/// <summary>Why a bootstrap operation failed.</summary>
public enum BootstrapError
{
    /// <summary>The server could not be reached or answered with an HTTP error.</summary>
    Unreachable,
    /// <summary>The server refused the request (its error code is in the message).</summary>
    Refused,
    /// <summary>The answer was malformed, too large, of the wrong kind or stale.</summary>
    MalformedAnswer,
    /// <summary>The answer's signature is missing or does not verify.</summary>
    BadSignature,
    /// <summary>The server's mode is not allowed by the <see cref="BootstrapTrustPolicy"/>.</summary>
    ModeNotAllowed,
    /// <summary>The answer is signed by an authority other than the pinned (or locked-in) one.</summary>
    AuthorityMismatch,
    /// <summary>Public IP discovery failed or the sources disagreed.</summary>
    PublicIPUnavailable,
}

/// <summary>A bootstrap operation failed; <see cref="Error"/> says why.</summary>
public sealed class BootstrapException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public BootstrapException(BootstrapError error, string message, Exception? inner = null) : base(message, inner) => Error = error;

    /// <summary>Why.</summary>
    public BootstrapError Error { get; }
}
