using P2PNet.Wire;

namespace P2PNet.Protocols.Identify;

/// <summary>
/// The Identify protocols as pure I/O over an already-negotiated stream. On <see cref="Id"/> the responder
/// writes one varint-length-prefixed Identify message and closes its write side; on <see cref="PushId"/> the
/// initiator does the same with what changed. Half-closing (e.g. <c>MuxedStream.CloseWriteAsync</c>) is the
/// caller's job: <see cref="WriteAsync"/> only writes and flushes.
/// </summary>
public static class IdentifyProtocol
{
    /// <summary>The identify protocol id.</summary>
    public const string Id = "/ipfs/id/1.0.0";

    /// <summary>The identify/push protocol id.</summary>
    public const string PushId = "/ipfs/id/push/1.0.0";

    /// <summary>The protocol version libp2p peers announce.</summary>
    public const string DefaultProtocolVersion = "ipfs/0.1.0";

    /// <summary>The agent version P2PNet announces.</summary>
    public const string DefaultAgentVersion = "p2pnet/0.1";

    /// <summary>Largest single message accepted or sent (8 KiB, as go-libp2p and js-libp2p).</summary>
    public const int MaxMessageLength = 8 * 1024;

    /// <summary>
    /// Most messages merged from one stream: go-libp2p splits an Identify carrying a large signed peer record
    /// into two messages; more than a few is abuse.
    /// </summary>
    public const int MaxMessages = 4;

    /// <summary>
    /// Writes <paramref name="info"/> as one length-prefixed message and flushes. Throws
    /// <see cref="IdentifyException"/> (MessageTooLong) when it encodes to more than <see cref="MaxMessageLength"/>.
    /// </summary>
    public static async Task WriteAsync(Stream stream, IdentifyInfo info, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(info);
        byte[] body = info.ToProtobuf();
        if (body.Length > MaxMessageLength)
            throw new IdentifyException(IdentifyError.MessageTooLong, $"our identify message of {body.Length} bytes exceeds {MaxMessageLength}");
        await LengthPrefixed.WriteAsync(stream, body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads length-prefixed Identify messages until the remote closes its write side and merges them
    /// (at most <see cref="MaxMessages"/>). Throws <see cref="IdentifyException"/>: Truncated when the stream
    /// ends before any complete message or inside one, MessageTooLong, TooManyMessages, Malformed, InvalidPublicKey.
    /// Apply a timeout through <paramref name="cancellationToken"/>: a peer that never closes blocks the read.
    /// </summary>
    public static async Task<IdentifyInfo> ReadAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] scratch = new byte[Varint.MaxLength];
        IdentifyInfo? info = null;
        for (int count = 0; ; count++)
        {
            long length = await ReadLengthAsync(stream, scratch, cancellationToken).ConfigureAwait(false);
            if (length < 0)
                return info ?? throw new IdentifyException(IdentifyError.Truncated, "the stream ended before an identify message");
            if (count == MaxMessages)
                throw new IdentifyException(IdentifyError.TooManyMessages, $"more than {MaxMessages} identify messages on one stream");
            if (length > MaxMessageLength)
                throw new IdentifyException(IdentifyError.MessageTooLong, $"identify message of {length} bytes exceeds {MaxMessageLength}");
            byte[] body = new byte[length];
            try
            {
                await stream.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
            }
            catch (EndOfStreamException ex)
            {
                throw new IdentifyException(IdentifyError.Truncated, "the stream ended inside an identify message", ex);
            }
            info = (info ?? new IdentifyInfo()).MergeFrom(body);
        }
    }

    // Reads a varint length byte by byte (never past it); -1 when the stream ends cleanly before it.
    private static async ValueTask<long> ReadLengthAsync(Stream stream, byte[] scratch, CancellationToken cancellationToken)
    {
        for (int i = 0; i < scratch.Length; i++)
        {
            int n = await stream.ReadAsync(scratch.AsMemory(i, 1), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (i == 0) return -1;
                throw new IdentifyException(IdentifyError.Truncated, "the stream ended inside a length prefix");
            }
            try
            {
                if (Varint.TryRead(scratch.AsSpan(0, i + 1), out ulong value, out _))
                    return value > int.MaxValue ? int.MaxValue : (long)value;
            }
            catch (FormatException ex)
            {
                throw new IdentifyException(IdentifyError.Malformed, "bad length prefix", ex);
            }
        }
        throw new IdentifyException(IdentifyError.Malformed, "length prefix too long");
    }
}
