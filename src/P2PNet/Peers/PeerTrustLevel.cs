namespace P2PNet.Peers;

/// <summary>What a channel's peer is trusted to send; the receiver enforces it on every packet.</summary>
public enum PeerTrustLevel
{
    /// <summary>Nothing is accepted (every packet is dropped).</summary>
    None = 0,

    /// <summary>Default communication: PureMessage and Disconnect packets.</summary>
    Default = 1,

    /// <summary>Enhanced exchange: every packet type (Identity, CollectionShare, DataTransmission too).</summary>
    Enhanced = 2,
}
