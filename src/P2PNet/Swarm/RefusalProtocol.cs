using System.Text;
using P2PNet.Core;
using P2PNet.Negotiation;
using P2PNet.Wire;

namespace P2PNet.Swarm;

/// <summary>
/// <c>/p2pnet/refusal/1.0.0</c>: the one stream a node opens on a connection it refuses after the secure
/// handshake, carrying one length-prefixed message (varint reason code, then UTF-8 text) before it closes.
/// Hosts answer it internally; a peer without it (js-libp2p) answers <c>na</c> and just sees the close.
/// </summary>
internal static class RefusalProtocol
{
    public const string Id = "/p2pnet/refusal/1.0.0";

    // Code varint plus the message.
    private const int MaxFrame = Varint.MaxLength + ConnectionRefusal.MaxMessageBytes;

    // Time a refused peer gets to read why before the connection is closed under it.
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Opens the refusal stream on <paramref name="muxer"/>, sends <paramref name="refusal"/> and waits (at most
    /// <see cref="Timeout"/>) for the remote to close it. True once the message was sent; false when the remote
    /// does not speak the protocol or the stream failed first. Closing the connection is the caller's.
    /// </summary>
    public static async Task<bool> SendAsync(IStreamMuxer muxer, ConnectionRefusal refusal, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        await using var stream = await muxer.OpenStreamAsync(timeout.Token).ConfigureAwait(false);
        await MultistreamSelect.SelectAsync(stream, [Id], timeout.Token).ConfigureAwait(false);
        await WriteAsync(stream, refusal, timeout.Token).ConfigureAwait(false);
        await stream.CloseWriteAsync(timeout.Token).ConfigureAwait(false);
        // Closing first could cut the message off in flight; the reader closes as soon as it has it. How it
        // closes (end of stream, reset, the whole connection, or not within the timeout) does not matter.
        try
        {
            byte[] sink = new byte[16];
            while (await stream.ReadAsync(sink, timeout.Token).ConfigureAwait(false) > 0) { }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
        }
        return true;
    }

    public static async ValueTask WriteAsync(Stream stream, ConnectionRefusal refusal, CancellationToken cancellationToken)
    {
        byte[] text = Encoding.UTF8.GetBytes(refusal.Message);
        int textLength = text.Length;
        // Cut at a character boundary so the receiver's strict decoding holds.
        while (textLength > ConnectionRefusal.MaxMessageBytes || (textLength < text.Length && (text[textLength] & 0xC0) == 0x80)) textLength--;
        byte[] frame = new byte[Varint.SizeOf((ulong)refusal.Reason) + textLength];
        int n = Varint.Write(frame, (ulong)refusal.Reason);
        text.AsSpan(0, textLength).CopyTo(frame.AsSpan(n));
        await LengthPrefixed.WriteAsync(stream, frame, cancellationToken).ConfigureAwait(false);
    }

    /// <exception cref="FormatException">The message is malformed or too long.</exception>
    public static async ValueTask<ConnectionRefusal> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        byte[] frame = await LengthPrefixed.ReadAsync(stream, MaxFrame, cancellationToken).ConfigureAwait(false);
        if (!Varint.TryRead(frame, out ulong code, out int n) || code > int.MaxValue) throw new FormatException("bad refusal code");
        if (frame.Length - n > ConnectionRefusal.MaxMessageBytes) throw new FormatException("refusal message too long");
        string text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(frame, n, frame.Length - n);
        return new ConnectionRefusal((RefusalReason)(int)code, text);
    }
}
