namespace P2PNet.Wire;

/// <summary>Unsigned LEB128 varints (multiformats unsigned-varint), at most 9 bytes / 63 bits.</summary>
internal static class Varint
{
    /// <summary>The practical maximum encoded length (multiformats caps varints at 9 bytes).</summary>
    public const int MaxLength = 9;

    /// <summary>Bytes needed to encode <paramref name="value"/>.</summary>
    public static int SizeOf(ulong value)
    {
        int n = 1;
        while (value >= 0x80) { value >>= 7; n++; }
        return n;
    }

    /// <summary>Writes a varint into <paramref name="destination"/> and returns the bytes written.</summary>
    public static int Write(Span<byte> destination, ulong value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>
    /// Reads a varint from the start of <paramref name="source"/>. Returns false when more bytes are needed;
    /// throws <see cref="FormatException"/> when it is over-long or not minimally encoded.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out ulong value, out int consumed)
    {
        value = 0;
        for (int i = 0; i < source.Length; i++)
        {
            if (i >= MaxLength) throw new FormatException("varint too long");
            byte b = source[i];
            value |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                if (b == 0 && i > 0) throw new FormatException("varint not minimally encoded");
                consumed = i + 1;
                return true;
            }
        }
        if (source.Length >= MaxLength) throw new FormatException("varint too long");
        consumed = 0;
        return false;
    }

    /// <summary>Reads a varint from a stream one byte at a time; throws <see cref="EndOfStreamException"/> on EOF.</summary>
    public static async ValueTask<ulong> ReadAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] one = new byte[1];
        ulong value = 0;
        for (int i = 0; ; i++)
        {
            if (i >= MaxLength) throw new FormatException("varint too long");
            int n = await stream.ReadAsync(one, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (i == 0) throw new EndOfStreamException("stream ended before a varint");
                throw new EndOfStreamException("stream ended inside a varint");
            }
            byte b = one[0];
            value |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                if (b == 0 && i > 0) throw new FormatException("varint not minimally encoded");
                return value;
            }
        }
    }
}
