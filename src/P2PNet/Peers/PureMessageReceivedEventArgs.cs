namespace P2PNet.Peers;

/// <summary>A PureMessage arrived (raised by the default pure-message handler).</summary>
public sealed class PureMessageReceivedEventArgs : EventArgs
{
    internal PureMessageReceivedEventArgs(PeerChannel channel, string message)
    {
        Channel = channel;
        Message = message;
    }

    /// <summary>The channel it came on.</summary>
    public PeerChannel Channel { get; }

    /// <summary>The sender's identifier.</summary>
    public P2PNet.Core.PeerId Sender => Channel.Identifier;

    /// <summary>The text.</summary>
    public string Message { get; }
}
