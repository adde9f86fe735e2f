namespace P2PNet.Peers;

/// <summary>Why a channel's session moves to another connection (see <see cref="PeerNetwork.ChannelReopening"/>).</summary>
public enum ChannelReopenReason
{
    /// <summary>
    /// A relay ended the circuit under the channel at its time or data limit; the channel reopens on a new circuit, or on
    /// a direct connection if one exists, and resumes its session.
    /// </summary>
    RelayLimit,

    /// <summary>
    /// A direct connection to the peer appeared while the channel ran on a limited (relayed) connection; the channel
    /// moves onto it and resumes its session there.
    /// </summary>
    DirectConnection,
}
