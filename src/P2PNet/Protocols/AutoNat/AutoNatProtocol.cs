using System.Buffers;
using P2PNet.Wire;

namespace P2PNet.Protocols.AutoNat;

/// <summary>
/// AutoNAT v2 (libp2p/specs autonat/autonat-v2.md) as pure I/O over already-negotiated streams: varint-length-prefixed
/// protobuf messages with their limits, checked before anything is allocated. The protocol logic (who dials whom,
/// rate limits, verdicts) is in <see cref="AutoNatService"/>.
/// </summary>
public static class AutoNatProtocol
{
    /// <summary>The protocol a client asks a server to dial it back on.</summary>
    public const string DialRequestId = "/libp2p/autonat/2/dial-request";

    /// <summary>The protocol a server delivers the nonce on, over the dial-back connection.</summary>
    public const string DialBackId = "/libp2p/autonat/2/dial-back";

    /// <summary>Largest message accepted on the dial-request stream (8 KiB, as go-libp2p).</summary>
    public const int MaxMessageLength = 8 * 1024;

    /// <summary>Largest message accepted on the dial-back stream (1 KiB, as go-libp2p).</summary>
    public const int MaxDialBackMessageLength = 1024;

    /// <summary>Addresses of a request a server looks at; the rest are ignored (50, as go-libp2p).</summary>
    public const int MaxAddressesInspected = 50;

    /// <summary>Least dial data a server asks for before dialing an IP that is not the requester's (the spec says 30 k–100 k).</summary>
    public const int MinDialDataBytes = 30_000;

    /// <summary>Most dial data a server asks for, and the most a client agrees to send.</summary>
    public const int MaxDialDataBytes = 100_000;

    /// <summary>Most data bytes a client puts in one DialDataResponse (the spec caps the field at 4096).</summary>
    public const int DialDataChunk = 4000;

    /// <summary>
    /// Least data a DialDataResponse may carry unless it is the last one: a client that trickles a few bytes per
    /// message would make the server decode thousands of messages for one dial (go-libp2p uses the same floor).
    /// </summary>
    public const int MinDialDataPerMessage = 100;

    internal static async Task WriteAsync(Stream stream, AutoNatMessage message, CancellationToken cancellationToken) =>
        await LengthPrefixed.WriteAsync(stream, AutoNatCodec.Encode(message), cancellationToken).ConfigureAwait(false);

    /// <summary>Reads one dial-request stream message; null when the stream ends cleanly before it.</summary>
    internal static async Task<AutoNatMessage?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxMessageLength);
        try
        {
            int length = await ReadFrameAsync(stream, buffer, MaxMessageLength, cancellationToken).ConfigureAwait(false);
            if (length < 0) return null;
            return AutoNatCodec.Decode(buffer.AsSpan(0, length))
                ?? throw new AutoNatException(AutoNatError.UnexpectedMessage, "an AutoNAT message with no content");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads a message of the kind <typeparamref name="T"/>, or throws (Truncated, UnexpectedMessage, …).</summary>
    internal static async Task<T> ReadExpectedAsync<T>(Stream stream, CancellationToken cancellationToken) where T : AutoNatMessage
    {
        var message = await ReadAsync(stream, cancellationToken).ConfigureAwait(false)
            ?? throw new AutoNatException(AutoNatError.Truncated, $"the stream ended before a {typeof(T).Name}");
        return message as T ?? throw new AutoNatException(AutoNatError.UnexpectedMessage, $"expected a {typeof(T).Name}, got a {message.GetType().Name}");
    }

    /// <summary>
    /// Reads DialDataResponse messages until at least <paramref name="numBytes"/> data bytes came (the last message may
    /// carry more). Every message but the last must carry <see cref="MinDialDataPerMessage"/> bytes.
    /// </summary>
    internal static async Task ReadDialDataAsync(Stream stream, int numBytes, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxMessageLength);
        try
        {
            for (int remain = numBytes; remain > 0;)
            {
                int length = await ReadFrameAsync(stream, buffer, MaxMessageLength, cancellationToken).ConfigureAwait(false);
                if (length < 0) throw new AutoNatException(AutoNatError.Truncated, $"the stream ended with {remain} dial data bytes still owed");
                if (AutoNatCodec.Decode(buffer.AsSpan(0, length)) is not DialDataResponse data)
                    throw new AutoNatException(AutoNatError.UnexpectedMessage, "expected a DialDataResponse");
                remain -= data.DataLength;
                if (data.DataLength < MinDialDataPerMessage && remain > 0)
                    throw new AutoNatException(AutoNatError.DialDataRefused, $"a DialDataResponse of {data.DataLength} bytes (at least {MinDialDataPerMessage} unless last)");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Sends <paramref name="numBytes"/> of dial data in <see cref="DialDataChunk"/>-byte messages.</summary>
    internal static async Task WriteDialDataAsync(Stream stream, int numBytes, CancellationToken cancellationToken)
    {
        byte[] full = AutoNatCodec.Encode(new DialDataResponse(DialDataChunk));
        byte[] frame = new byte[Varint.SizeOf((ulong)full.Length) + full.Length];
        full.CopyTo(frame, Varint.Write(frame, (ulong)full.Length));
        // Whole chunks only: the spec lets the last message exceed what is owed, and one encoding serves them all.
        for (int sent = 0; sent < numBytes; sent += DialDataChunk)
            await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static Task WriteDialBackAsync(Stream stream, ulong nonce, CancellationToken cancellationToken) =>
        LengthPrefixed.WriteAsync(stream, AutoNatCodec.EncodeDialBack(nonce), cancellationToken).AsTask();

    /// <summary>Reads the nonce of a DialBack message.</summary>
    internal static async Task<ulong> ReadDialBackAsync(Stream stream, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[MaxDialBackMessageLength];
        int length = await ReadFrameAsync(stream, buffer, MaxDialBackMessageLength, cancellationToken).ConfigureAwait(false);
        if (length < 0) throw new AutoNatException(AutoNatError.Truncated, "the stream ended before a DialBack");
        return AutoNatCodec.DecodeDialBack(buffer.AsSpan(0, length));
    }

    internal static Task WriteDialBackResponseAsync(Stream stream, CancellationToken cancellationToken) =>
        LengthPrefixed.WriteAsync(stream, AutoNatCodec.EncodeDialBackResponse(), cancellationToken).AsTask();

    // One length-prefixed frame into `buffer`: its length, or -1 when the stream ends cleanly before the prefix.
    private static async Task<int> ReadFrameAsync(Stream stream, byte[] buffer, int maxLength, CancellationToken cancellationToken)
    {
        long length = await ReadLengthAsync(stream, buffer, cancellationToken).ConfigureAwait(false);
        if (length < 0) return -1;
        if (length > maxLength)
            throw new AutoNatException(AutoNatError.MessageTooLong, $"AutoNAT message of {length} bytes exceeds {maxLength}");
        try
        {
            await stream.ReadExactlyAsync(buffer.AsMemory(0, (int)length), cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException ex)
        {
            throw new AutoNatException(AutoNatError.Truncated, "the stream ended inside a message", ex);
        }
        return (int)length;
    }

    // The varint length prefix, a byte at a time (into the frame buffer, overwritten by the body); -1 on a clean end.
    private static async Task<long> ReadLengthAsync(Stream stream, byte[] scratch, CancellationToken cancellationToken)
    {
        const int MaxPrefix = 9;
        for (int i = 0; i < MaxPrefix; i++)
        {
            int n = await stream.ReadAsync(scratch.AsMemory(i, 1), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (i == 0) return -1;
                throw new AutoNatException(AutoNatError.Truncated, "the stream ended inside a length prefix");
            }
            try
            {
                if (Varint.TryRead(scratch.AsSpan(0, i + 1), out ulong value, out _))
                    return value > int.MaxValue ? int.MaxValue : (long)value;
            }
            catch (FormatException ex)
            {
                throw new AutoNatException(AutoNatError.Malformed, "bad length prefix", ex);
            }
        }
        throw new AutoNatException(AutoNatError.Malformed, "length prefix too long");
    }
}
