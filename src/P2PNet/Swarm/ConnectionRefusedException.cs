using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>
/// A connection was refused: by the remote after the secure handshake (it said why), or locally by the
/// connection gater or a resource limit before dialing or right after the handshake.
/// </summary>
public sealed class ConnectionRefusedException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public ConnectionRefusedException(ConnectionRefusal refusal, PeerId? peer, bool byRemote, Exception? inner = null)
        : base(Describe(refusal, peer, byRemote), inner)
    {
        Refusal = refusal;
        Peer = peer;
        ByRemote = byRemote;
    }

    /// <summary>The reason and message.</summary>
    public ConnectionRefusal Refusal { get; }

    /// <summary>Why, as a code.</summary>
    public RefusalReason Reason => Refusal.Reason;

    /// <summary>The peer concerned, when known.</summary>
    public PeerId? Peer { get; }

    /// <summary>True when the remote refused us; false when we refused locally.</summary>
    public bool ByRemote { get; }

    private static string Describe(ConnectionRefusal refusal, PeerId? peer, bool byRemote) =>
        byRemote
            ? $"{peer?.ToString() ?? "the remote"} refused the connection ({refusal.Reason}): {refusal.Message}"
            : $"connection {(peer is null ? "" : $"with {peer} ")}refused locally ({refusal.Reason}): {refusal.Message}";
}
