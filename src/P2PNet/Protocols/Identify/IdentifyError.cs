namespace P2PNet.Protocols.Identify;

/// <summary>Why reading or checking an Identify message failed.</summary>
public enum IdentifyError
{
    /// <summary>A message exceeded <see cref="IdentifyProtocol.MaxMessageLength"/>.</summary>
    MessageTooLong,

    /// <summary>The peer sent more than <see cref="IdentifyProtocol.MaxMessages"/> messages.</summary>
    TooManyMessages,

    /// <summary>The protobuf or its length prefix was malformed.</summary>
    Malformed,

    /// <summary>The stream ended before a complete message.</summary>
    Truncated,

    /// <summary>The message carried no public key.</summary>
    MissingPublicKey,

    /// <summary>The public key field did not parse.</summary>
    InvalidPublicKey,

    /// <summary>The public key does not belong to the peer on the other end of the connection.</summary>
    PeerIdMismatch,
}
