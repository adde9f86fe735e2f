using P2PNet.Wire;

namespace P2PNet.Protocols.Dcutr;

/// <summary>
/// Direct Connection Upgrade through Relay (libp2p/specs relay/DCUtR.md): the protocol id, its limits, and
/// length-prefixed <see cref="HolePunchMessage"/> I/O over an already-negotiated stream.
/// </summary>
public static class DcutrProtocol
{
    /// <summary>The protocol id.</summary>
    public const string Id = "/libp2p/dcutr";

    /// <summary>Largest message accepted or sent, length prefix excluded (4 KiB, as the spec asks).</summary>
    public const int MaxMessageLength = 4096;

    /// <summary>Most addresses kept from one CONNECT (more are ignored; the size cap bounds them anyway).</summary>
    public const int MaxAddresses = 32;

    /// <summary>Writes <paramref name="message"/> with its varint length prefix.</summary>
    /// <exception cref="DcutrException">MessageTooLong: ours would exceed <see cref="MaxMessageLength"/>.</exception>
    public static async Task WriteAsync(Stream stream, HolePunchMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(message);
        byte[] body = message.ToProtobuf();
        if (body.Length > MaxMessageLength)
            throw new DcutrException(DcutrError.MessageTooLong, $"our HolePunch message of {body.Length} bytes exceeds {MaxMessageLength}");
        await LengthPrefixed.WriteAsync(stream, body, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads one message within <paramref name="timeout"/>; the length is checked before anything is allocated.
    /// </summary>
    /// <exception cref="DcutrException">Timeout, Closed, MessageTooLong, Malformed.</exception>
    public static async Task<HolePunchMessage> ReadAsync(Stream stream, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            ulong length = await Varint.ReadAsync(stream, deadline.Token).ConfigureAwait(false);
            if (length > MaxMessageLength)
                throw new DcutrException(DcutrError.MessageTooLong, $"a HolePunch message of {length} bytes exceeds {MaxMessageLength}");
            byte[] body = new byte[(int)length];
            await stream.ReadExactlyAsync(body, deadline.Token).ConfigureAwait(false);
            return HolePunchMessage.FromProtobuf(body);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DcutrException(DcutrError.Timeout, $"no HolePunch message within {timeout.TotalSeconds:0.#} s", ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new DcutrException(DcutrError.Closed, "the stream ended before a full HolePunch message", ex);
        }
        catch (FormatException ex)
        {
            throw new DcutrException(DcutrError.Malformed, $"bad HolePunch message length: {ex.Message}", ex);
        }
    }
}
