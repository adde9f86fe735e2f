namespace P2PNet.Core;

/// <summary>
/// A framing stream (Noise) that can gather several writes into one send of the connection underneath: each
/// gathered write starts frames of its own, and its frames wait in a send buffer until
/// <see cref="Stream.FlushAsync(CancellationToken)"/> or until the buffer is full. A muxer that writes a large data
/// body as writes of its own then lets the reader decrypt that body straight into its destination (its frames hold
/// nothing else), while many such bodies still leave in one system call.
/// </summary>
internal interface IGatheringWriteStream
{
    /// <summary>
    /// Frames <paramref name="data"/> (starting a new frame) into the send buffer, sending what the buffer holds first
    /// when it is full. The memory is not referenced once the call returns. Call FlushAsync to send what is held.
    /// </summary>
    ValueTask WriteGatheredAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>
    /// Frames <paramref name="first"/>, then <paramref name="second"/> (each starting frames of its own; an empty one adds
    /// none) into the send buffer when both fit without sending anything, and returns true; otherwise does nothing and
    /// returns false. Never waits, so the caller's memory is free again when it returns.
    /// </summary>
    bool TryWriteGathered(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second);

    /// <summary>
    /// True when <paramref name="plaintextLength"/> bytes in <paramref name="writes"/> gathered writes fit in the send
    /// buffer without sending (a conservative bound), so that that many <see cref="TryWriteGathered"/> calls all succeed.
    /// </summary>
    bool HasGatherRoom(int plaintextLength, int writes);
}
