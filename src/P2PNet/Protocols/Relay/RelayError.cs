namespace P2PNet.Protocols.Relay;

/// <summary>Why a circuit relay operation failed.</summary>
public enum RelayError
{
    /// <summary>A message did not parse or lacked a required field.</summary>
    Malformed,

    /// <summary>A message exceeded <see cref="RelayProtocol.MaxMessageLength"/>.</summary>
    MessageTooLong,

    /// <summary>The stream ended before a full message.</summary>
    Closed,

    /// <summary>No message arrived in time.</summary>
    Timeout,

    /// <summary>A message of the wrong type arrived.</summary>
    UnexpectedMessage,

    /// <summary>The remote answered with a status other than OK (see <see cref="RelayException.Status"/>).</summary>
    Refused,

    /// <summary>The reservation voucher did not verify or did not match.</summary>
    BadVoucher,

    /// <summary>The relay ended the circuit at its time or data limit.</summary>
    LimitReached,

    /// <summary>The circuit (or the relay's connection carrying it) ended abruptly for another reason.</summary>
    CircuitReset,

    /// <summary>The address is not a usable relay address.</summary>
    BadAddress,
}
