namespace P2PNet.Swarm;

/// <summary>A refusal: the reason code and a short text for logs and the refused peer.</summary>
/// <param name="Reason">Why.</param>
/// <param name="Message">A short human-readable explanation (at most <see cref="MaxMessageBytes"/> UTF-8 bytes are sent).</param>
public sealed record ConnectionRefusal(RefusalReason Reason, string Message)
{
    /// <summary>Longest message sent or accepted on the wire.</summary>
    public const int MaxMessageBytes = 256;
}
