namespace P2PNet.Protocols.AutoNat;

/// <summary>Why an AutoNAT v2 exchange failed.</summary>
public enum AutoNatError
{
    /// <summary>A message exceeded its size limit (<see cref="AutoNatProtocol.MaxMessageLength"/> or <see cref="AutoNatProtocol.MaxDialBackMessageLength"/>).</summary>
    MessageTooLong,

    /// <summary>The protobuf or its length prefix was malformed, or a field broke the protocol's rules.</summary>
    Malformed,

    /// <summary>The stream ended before a complete message.</summary>
    Truncated,

    /// <summary>A well-formed message of the wrong kind for this step (e.g. a DialResponse where a DialRequest belongs).</summary>
    UnexpectedMessage,

    /// <summary>The exchange took longer than its timeout.</summary>
    Timeout,

    /// <summary>The server asked for more dial data than <see cref="AutoNatProtocol.MaxDialDataBytes"/>, or for an address we did not send, or the client sent too little.</summary>
    DialDataRefused,

    /// <summary>The server said it dialed us back, but no dial-back carrying our nonce arrived on a matching connection.</summary>
    DialBackMissing,

    /// <summary>The server declined (rate limit, refused every address, internal error): no verdict.</summary>
    Declined,
}
