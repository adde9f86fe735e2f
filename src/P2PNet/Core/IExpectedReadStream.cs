namespace P2PNet.Core;

/// <summary>
/// A stream whose reads normally wait for bytes with a zero-byte read before renting a buffer (so an idle
/// connection holds none), and which can skip that wait when the caller knows more bytes are already on their way:
/// it is in the middle of a frame the remote is sending. Busy connections then pay neither the extra wait nor the
/// rent and return of a buffer per read, while a connection between frames still goes idle without a buffer.
/// </summary>
internal interface IExpectedReadStream
{
    /// <summary>
    /// Reads like <see cref="Stream.ReadAsync(Memory{byte}, CancellationToken)"/> when the caller is inside a unit
    /// (a frame) of the remote's data: the stream reads straight away instead of first waiting with a zero-byte read.
    /// </summary>
    ValueTask<int> ReadExpectedAsync(Memory<byte> buffer, CancellationToken cancellationToken);
}

/// <summary>Helpers for <see cref="IExpectedReadStream"/>.</summary>
internal static class ExpectedRead
{
    /// <summary>An expected read when <paramref name="stream"/> supports it, a plain read otherwise.</summary>
    public static ValueTask<int> ReadExpectedAsync(this Stream stream, IExpectedReadStream? expected, Memory<byte> buffer, CancellationToken cancellationToken) =>
        expected is not null ? expected.ReadExpectedAsync(buffer, cancellationToken) : stream.ReadAsync(buffer, cancellationToken);
}
