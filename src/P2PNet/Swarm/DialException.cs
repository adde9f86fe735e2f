using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>A failed dial, typed by <see cref="DialError"/>, with the error of each address tried.</summary>
public sealed class DialException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public DialException(DialError error, PeerId? peer, string message, IReadOnlyList<DialAttempt>? attempts = null, Exception? inner = null)
        : base(message, inner ?? (attempts is { Count: > 0 } ? attempts[^1].Exception : null))
    {
        Error = error;
        PeerId = peer;
        Attempts = attempts ?? [];
    }

    /// <summary>What went wrong with the dial as a whole.</summary>
    public DialError Error { get; }

    /// <summary>The peer dialed, when known.</summary>
    public PeerId? PeerId { get; }

    /// <summary>Each address tried, in order, with its failure (empty when the dial failed before any).</summary>
    public IReadOnlyList<DialAttempt> Attempts { get; }
}
