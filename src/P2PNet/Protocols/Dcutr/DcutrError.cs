namespace P2PNet.Protocols.Dcutr;

/// <summary>What went wrong in a DCUtR exchange.</summary>
public enum DcutrError
{
    /// <summary>A message was not a valid HolePunch protobuf (bad wire type, missing or unknown type).</summary>
    Malformed,

    /// <summary>A message exceeded <see cref="DcutrProtocol.MaxMessageLength"/>.</summary>
    MessageTooLong,

    /// <summary>A message of the wrong type for the step (a SYNC where a CONNECT belongs, or the reverse).</summary>
    UnexpectedMessage,

    /// <summary>No message within the stream timeout.</summary>
    Timeout,

    /// <summary>The stream ended before a full message.</summary>
    Closed,
}
