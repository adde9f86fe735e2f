namespace P2PNet.Peers;

/// <summary>A peer offered a file on an Enhanced channel.</summary>
public sealed class FileOfferedEventArgs : EventArgs
{
    internal FileOfferedEventArgs(PeerChannel channel, FileOffer offer)
    {
        Channel = channel;
        Offer = offer;
    }

    /// <summary>The channel the offer came on.</summary>
    public PeerChannel Channel { get; }

    /// <summary>What is offered.</summary>
    public FileOffer Offer { get; }
}
