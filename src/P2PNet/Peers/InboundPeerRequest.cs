namespace P2PNet.Peers;

/// <summary>An incoming peer waiting for the application to accept or reject it.</summary>
public sealed class InboundPeerRequest
{
    private readonly TaskCompletionSource<bool> _decision = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal InboundPeerRequest(GenericPeer peer) => Peer = peer;

    /// <summary>The peer asking to join.</summary>
    public IPeer Peer { get; }

    /// <summary>When the request arrived.</summary>
    public DateTimeOffset ReceivedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>True once accepted or rejected (or expired).</summary>
    public bool IsDecided => _decision.Task.IsCompleted;

    /// <summary>Why it was rejected, if it was.</summary>
    public string? RejectionReason { get; private set; }

    /// <summary>Accepts the peer: its channel opens. False when already decided (for example, expired).</summary>
    public bool Accept() => _decision.TrySetResult(true);

    /// <summary>Rejects the peer: its connection is closed. False when already decided.</summary>
    public bool Reject(string? reason = null)
    {
        if (_decision.Task.IsCompleted) return false;
        RejectionReason = reason ?? "rejected by the application";
        return _decision.TrySetResult(false);
    }

    internal Task<bool> Decision => _decision.Task;
}
