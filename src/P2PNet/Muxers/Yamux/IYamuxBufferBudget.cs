namespace P2PNet.Muxers.Yamux;

/// <summary>
/// Accounting of the bytes a <see cref="YamuxSession"/> holds for its streams: received and not yet read by the
/// application. The host's resource manager supplies one per connection and charges it against the connection,
/// peer and system limits. Past a limit the session stops reading the connection until the application reads
/// (TCP then pauses the sender) and withholds window updates of streams that still hold unread bytes, instead of
/// resetting streams or buffering without bound.
/// </summary>
internal interface IYamuxBufferBudget
{
    /// <summary>
    /// Charges <paramref name="bytes"/> about to be buffered; false (nothing charged) when that would pass a limit.
    /// A connection holding nothing is always allowed one frame, so every connection makes progress.
    /// <paramref name="firstAttempt"/> is true for the first try of a frame (the hit is counted and logged once).
    /// </summary>
    bool TryReserve(int bytes, bool firstAttempt);

    /// <summary>Releases bytes the application read or that were dropped (a reset, a disposed stream).</summary>
    void Release(int bytes);
}
