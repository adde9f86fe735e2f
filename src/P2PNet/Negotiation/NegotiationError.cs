namespace P2PNet.Negotiation;

/// <summary>Why a multistream-select negotiation failed.</summary>
public enum NegotiationError
{
    /// <summary>The peer did not open with the <c>/multistream/1.0.0</c> header.</summary>
    BadHeader,

    /// <summary>A message announced more than <see cref="MultistreamSelect.MaxMessageLength"/> bytes.</summary>
    MessageTooLong,

    /// <summary>A message was empty, lacked its trailing newline, was not UTF-8, had a bad varint, or was unexpected.</summary>
    Malformed,

    /// <summary>The dialer proposed more than <see cref="MultistreamSelect.MaxAttempts"/> protocols.</summary>
    TooManyAttempts,

    /// <summary>The listener refused every protocol the dialer proposed.</summary>
    NoProtocol,

    /// <summary>The stream ended in the middle of the negotiation.</summary>
    Truncated,
}
