namespace P2PNet.Peers;

/// <summary>The life of a <see cref="PeerChannel"/>.</summary>
public enum PeerChannelState
{
    /// <summary>Being set up: stream negotiated, waiting for the peer's hello (or for our application's decision).</summary>
    Opening,

    /// <summary>Sending and receiving packets.</summary>
    Open,

    /// <summary>The connection dropped without a DisconnectPacket; redialing with backoff.</summary>
    Reconnecting,

    /// <summary>Closing: sending the DisconnectPacket and flushing.</summary>
    Closing,

    /// <summary>Closed for good; it no longer sends or receives.</summary>
    Closed,

    /// <summary>
    /// Inbound, the connection failed: waiting (at most <see cref="PeerNetworkOptions.ResumeWindow"/>) for the dialer
    /// to redial and resume the session. Sends are queued meanwhile.
    /// </summary>
    Resuming,
}
