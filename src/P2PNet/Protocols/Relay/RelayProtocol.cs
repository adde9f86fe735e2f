using P2PNet.Wire;

namespace P2PNet.Protocols.Relay;

/// <summary>
/// Circuit relay v2 (libp2p/specs relay/circuit-v2.md): protocol ids, limits, and length-prefixed message I/O
/// over an already-negotiated stream. Messages are read exactly (never past their end), because the relayed
/// bytes follow the last one on the same stream.
/// </summary>
public static class RelayProtocol
{
    /// <summary>The hop protocol (client to relay: reserve, connect).</summary>
    public const string HopId = "/libp2p/circuit/relay/0.2.0/hop";

    /// <summary>The stop protocol (relay to the target of a circuit).</summary>
    public const string StopId = "/libp2p/circuit/relay/0.2.0/stop";

    /// <summary>Largest hop or stop message accepted or sent (4 KiB, as go-libp2p).</summary>
    public const int MaxMessageLength = 4096;

    internal static Task WriteAsync(Stream stream, HopMessage message, CancellationToken ct) => WriteCoreAsync(stream, message.ToProtobuf(), ct);

    internal static Task WriteAsync(Stream stream, StopMessage message, CancellationToken ct) => WriteCoreAsync(stream, message.ToProtobuf(), ct);

    internal static async Task<HopMessage> ReadHopAsync(Stream stream, TimeSpan timeout, CancellationToken ct) =>
        HopMessage.FromProtobuf(await ReadCoreAsync(stream, timeout, "hop", ct).ConfigureAwait(false));

    internal static async Task<StopMessage> ReadStopAsync(Stream stream, TimeSpan timeout, CancellationToken ct) =>
        StopMessage.FromProtobuf(await ReadCoreAsync(stream, timeout, "stop", ct).ConfigureAwait(false));

    private static async Task WriteCoreAsync(Stream stream, byte[] body, CancellationToken ct)
    {
        if (body.Length > MaxMessageLength)
            throw new RelayException(RelayError.MessageTooLong, $"our relay message of {body.Length} bytes exceeds {MaxMessageLength}");
        await LengthPrefixed.WriteAsync(stream, body, ct).ConfigureAwait(false);
    }

    private static async Task<byte[]> ReadCoreAsync(Stream stream, TimeSpan timeout, string what, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            ulong length = await Varint.ReadAsync(stream, deadline.Token).ConfigureAwait(false);
            if (length > MaxMessageLength)
                throw new RelayException(RelayError.MessageTooLong, $"{what} message of {length} bytes exceeds {MaxMessageLength}");
            byte[] body = new byte[(int)length];
            await stream.ReadExactlyAsync(body, deadline.Token).ConfigureAwait(false);
            return body;
        }
        catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new RelayException(RelayError.Timeout, $"no {what} message within {timeout.TotalSeconds:0.#} s", inner: ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new RelayException(RelayError.Closed, $"the stream ended before a full {what} message", inner: ex);
        }
        catch (FormatException ex)
        {
            throw new RelayException(RelayError.Malformed, $"bad {what} message length: {ex.Message}", inner: ex);
        }
    }
}
