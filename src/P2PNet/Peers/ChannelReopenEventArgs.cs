namespace P2PNet.Peers;

/// <summary>A channel's session reopens (or reopened) on another connection without losing packets.</summary>
/// <param name="channel">The channel.</param>
/// <param name="reason">Why it moves.</param>
/// <param name="message">What happened, in words (the relay limit that ended the circuit, the connection moved to).</param>
public sealed class ChannelReopenEventArgs(PeerChannel channel, ChannelReopenReason reason, string message) : EventArgs
{
    /// <summary>The channel.</summary>
    public PeerChannel Channel { get; } = channel;

    /// <summary>Why it moves.</summary>
    public ChannelReopenReason Reason { get; } = reason;

    /// <summary>What happened, in words.</summary>
    public string Message { get; } = message;
}
