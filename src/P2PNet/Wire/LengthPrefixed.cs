namespace P2PNet.Wire;

/// <summary>Varint-length-prefixed messages over a stream, with a size limit checked before allocating.</summary>
internal static class LengthPrefixed
{
    /// <summary>Writes one varint-length-prefixed message (prefix and body in a single write).</summary>
    public static async ValueTask WriteAsync(Stream stream, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] frame = new byte[Varint.SizeOf((ulong)message.Length) + message.Length];
        int n = Varint.Write(frame, (ulong)message.Length);
        message.Span.CopyTo(frame.AsSpan(n));
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads one message of at most <paramref name="maxLength"/> bytes. Throws <see cref="FormatException"/>
    /// when the announced length exceeds the limit, <see cref="EndOfStreamException"/> on a truncated message.
    /// </summary>
    public static async ValueTask<byte[]> ReadAsync(Stream stream, int maxLength, CancellationToken cancellationToken = default)
    {
        ulong length = await Varint.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
        if (length > (ulong)maxLength) throw new FormatException($"message of {length} bytes exceeds the limit of {maxLength}");
        byte[] body = new byte[(int)length];
        await stream.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
        return body;
    }
}
