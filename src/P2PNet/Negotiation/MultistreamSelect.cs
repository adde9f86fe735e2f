using System.Buffers;
using System.Text;
using P2PNet.Wire;

namespace P2PNet.Negotiation;

/// <summary>
/// multistream-select 1.0: agrees on the protocol spoken next on a stream. Every message is a varint length,
/// then UTF-8 text ending in <c>'\n'</c> (the newline counts in the length). Both sides send
/// <see cref="ProtocolId"/>; the dialer proposes protocols one by one and the listener echoes the one it
/// accepts or answers <c>na</c>. Messages are read exactly (varint, then body), never beyond, because the
/// negotiated protocol's bytes follow on the same stream.
/// </summary>
internal static class MultistreamSelect
{
    /// <summary>The multistream-select 1.0 header / protocol id.</summary>
    public const string ProtocolId = "/multistream/1.0.0";

    /// <summary>Longest message accepted or sent, newline included (the limit go- and js-libp2p use).</summary>
    public const int MaxMessageLength = 1024;

    /// <summary>Most proposals a listener answers (and a dialer makes) before giving up.</summary>
    public const int MaxAttempts = 64;

    private const string NotAvailable = "na";
    private const string ListRequest = "ls";

    // Strict decoder: invalid UTF-8 is a protocol violation, not something to paper over with U+FFFD.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Dialer side: proposes <paramref name="protocols"/> in order of preference and returns the one the
    /// listener accepted. The header and the first proposal leave in a single write (pipelined, as
    /// go/js/rust dialers do). Throws <see cref="NegotiationException"/> with
    /// <see cref="NegotiationError.NoProtocol"/> when every proposal is refused.
    /// </summary>
    public static async Task<string> SelectAsync(Stream stream, IReadOnlyList<string> protocols, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(protocols);
        if (protocols.Count == 0) throw new ArgumentException("at least one protocol is required", nameof(protocols));
        if (protocols.Count > MaxAttempts) throw new ArgumentException($"at most {MaxAttempts} protocols can be proposed", nameof(protocols));
        foreach (string protocol in protocols) ValidateProtocol(protocol, nameof(protocols));

        await WriteMessagesAsync(stream, ProtocolId, protocols[0], cancellationToken).ConfigureAwait(false);
        string header = await ReadMessageAsync(stream, cancellationToken).ConfigureAwait(false);
        if (header != ProtocolId) throw BadHeader(header);

        for (int i = 0; ; i++)
        {
            string answer = await ReadMessageAsync(stream, cancellationToken).ConfigureAwait(false);
            if (answer == protocols[i]) return answer;
            if (answer != NotAvailable)
                throw new NegotiationException(NegotiationError.Malformed, $"unexpected answer '{Shorten(answer)}' to proposal '{protocols[i]}'");
            if (i + 1 == protocols.Count)
                throw new NegotiationException(NegotiationError.NoProtocol, $"the peer supports none of: {string.Join(", ", protocols)}");
            await WriteMessagesAsync(stream, protocols[i + 1], null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Listener side: reads the dialer's header, answers with ours, then answers <c>na</c> to each proposal
    /// (and to <c>ls</c>, which is optional) until <paramref name="isSupported"/> accepts one, which is echoed
    /// and returned. Throws <see cref="NegotiationException"/> on garbage or after <see cref="MaxAttempts"/>
    /// refusals.
    /// </summary>
    public static async Task<string> ListenAsync(Stream stream, Func<string, bool> isSupported, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(isSupported);

        string header = await ReadMessageAsync(stream, cancellationToken).ConfigureAwait(false);
        if (header != ProtocolId) throw BadHeader(header);
        // Sent right away rather than with the first answer: some dialers wait for it before proposing.
        await WriteMessagesAsync(stream, ProtocolId, null, cancellationToken).ConfigureAwait(false);

        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            string proposal = await ReadMessageAsync(stream, cancellationToken).ConfigureAwait(false);
            if (proposal != ListRequest && proposal != NotAvailable && isSupported(proposal))
            {
                await WriteMessagesAsync(stream, proposal, null, cancellationToken).ConfigureAwait(false);
                return proposal;
            }
            await WriteMessagesAsync(stream, NotAvailable, null, cancellationToken).ConfigureAwait(false);
        }
        throw new NegotiationException(NegotiationError.TooManyAttempts, $"the peer made more than {MaxAttempts} proposals");
    }

    private static void ValidateProtocol(string? protocol, string paramName)
    {
        if (string.IsNullOrEmpty(protocol)) throw new ArgumentException("protocol ids must be non-empty", paramName);
        if (protocol.Contains('\n', StringComparison.Ordinal)) throw new ArgumentException("protocol ids cannot contain a newline", paramName);
        if (Encoding.UTF8.GetByteCount(protocol) + 1 > MaxMessageLength)
            throw new ArgumentException($"protocol id '{Shorten(protocol)}' exceeds {MaxMessageLength - 1} bytes", paramName);
    }

    // Writes one or two messages in a single write + flush, so pipelined messages share a packet.
    private static async ValueTask WriteMessagesAsync(Stream stream, string first, string? second, CancellationToken cancellationToken)
    {
        int firstLength = Encoding.UTF8.GetByteCount(first) + 1;
        int secondLength = second is null ? 0 : Encoding.UTF8.GetByteCount(second) + 1;
        int total = Varint.SizeOf((ulong)firstLength) + firstLength
            + (second is null ? 0 : Varint.SizeOf((ulong)secondLength) + secondLength);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            int n = Encode(buffer, first, firstLength);
            if (second is not null) n += Encode(buffer.AsSpan(n), second, secondLength);
            await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int Encode(Span<byte> destination, string text, int length)
    {
        int n = Varint.Write(destination, (ulong)length);
        n += Encoding.UTF8.GetBytes(text, destination[n..]);
        destination[n++] = (byte)'\n';
        return n;
    }

    // Reads exactly one message: the varint, then the announced body, and not a byte more.
    private static async ValueTask<string> ReadMessageAsync(Stream stream, CancellationToken cancellationToken)
    {
        ulong announced;
        try
        {
            announced = await Varint.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException ex)
        {
            throw new NegotiationException(NegotiationError.Truncated, "the stream ended during protocol negotiation", ex);
        }
        catch (FormatException ex)
        {
            throw new NegotiationException(NegotiationError.Malformed, "bad message length varint", ex);
        }
        if (announced > MaxMessageLength)
            throw new NegotiationException(NegotiationError.MessageTooLong, $"message of {announced} bytes exceeds the limit of {MaxMessageLength}");
        if (announced == 0) throw new NegotiationException(NegotiationError.Malformed, "empty message");

        int length = (int)announced;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            try
            {
                await stream.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            }
            catch (EndOfStreamException ex)
            {
                throw new NegotiationException(NegotiationError.Truncated, "the stream ended inside a negotiation message", ex);
            }
            if (buffer[length - 1] != (byte)'\n')
                throw new NegotiationException(NegotiationError.Malformed, "message lacks its trailing newline");
            try
            {
                return StrictUtf8.GetString(buffer, 0, length - 1);
            }
            catch (DecoderFallbackException ex)
            {
                throw new NegotiationException(NegotiationError.Malformed, "message is not valid UTF-8", ex);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static NegotiationException BadHeader(string received) =>
        new(NegotiationError.BadHeader, $"expected '{ProtocolId}', received '{Shorten(received)}'");

    // Keeps peer-supplied text in error messages short and printable.
    private static string Shorten(string text)
    {
        const int max = 64;
        var sb = new StringBuilder(Math.Min(text.Length, max) + 1);
        foreach (char c in text.Length > max ? text[..max] : text) sb.Append(char.IsControl(c) ? '?' : c);
        if (text.Length > max) sb.Append('…');
        return sb.ToString();
    }
}
