using System.Buffers;
using System.Buffers.Binary;
using P2PNet.Core;

namespace P2PNet.Security.Noise;

/// <summary>
/// The libp2p Noise secure channel (<c>/noise</c>): runs a <c>Noise_XX_25519_ChaChaPoly_SHA256</c> handshake
/// with an empty prologue over a raw connection and returns the encrypted <see cref="NoiseStream"/>.
/// A fresh X25519 static key is made per handshake and bound to the libp2p identity by an Ed25519 signature.
/// Timeouts are the caller's: cancel <c>cancellationToken</c> and any stalled read or write is aborted.
/// On failure the inner stream is left open for the caller to dispose.
/// </summary>
public static class NoiseHandshake
{
    /// <summary>The multistream-select protocol id.</summary>
    public const string ProtocolId = "/noise";

    /// <summary>Largest Noise message (handshake or transport), the limit of its 2-byte length prefix.</summary>
    public const int MaxMessageLength = ushort.MaxValue;

    /// <summary>Size of the big-endian length prefix before every Noise message.</summary>
    public const int LengthPrefixSize = 2;

    /// <summary>Secures an outbound (dialed) connection as the Noise initiator.</summary>
    /// <param name="inner">The raw connection.</param>
    /// <param name="local">Our identity.</param>
    /// <param name="expectedRemote">The PeerId being dialed (from <c>/p2p/</c>), or null to accept any peer.</param>
    /// <param name="cancellationToken">Cancels the handshake.</param>
    /// <exception cref="NoiseException">The handshake failed or the remote was not <paramref name="expectedRemote"/>.</exception>
    public static Task<NoiseStream> SecureOutboundAsync(Stream inner, Identity local, PeerId? expectedRemote, CancellationToken cancellationToken = default) =>
        SecureAsync(inner, local, initiator: true, expectedRemote, payloadHook: null, cancellationToken);

    /// <summary>Secures an outbound connection with a reusable <see cref="NoiseStaticKey"/>.</summary>
    /// <param name="inner">The raw connection.</param>
    /// <param name="local">Our static key and identity.</param>
    /// <param name="expectedRemote">The PeerId being dialed (from <c>/p2p/</c>), or null to accept any peer.</param>
    /// <param name="cancellationToken">Cancels the handshake.</param>
    /// <exception cref="NoiseException">The handshake failed or the remote was not <paramref name="expectedRemote"/>.</exception>
    public static Task<NoiseStream> SecureOutboundAsync(Stream inner, NoiseStaticKey local, PeerId? expectedRemote, CancellationToken cancellationToken = default) =>
        SecureAsync(inner, local, initiator: true, expectedRemote, cancellationToken);

    /// <summary>Secures an inbound (accepted) connection as the Noise responder.</summary>
    /// <param name="inner">The raw connection.</param>
    /// <param name="local">Our identity.</param>
    /// <param name="cancellationToken">Cancels the handshake.</param>
    /// <exception cref="NoiseException">The handshake failed.</exception>
    public static Task<NoiseStream> SecureInboundAsync(Stream inner, Identity local, CancellationToken cancellationToken = default) =>
        SecureAsync(inner, local, initiator: false, expectedRemote: null, payloadHook: null, cancellationToken);

    /// <summary>Secures an inbound connection with a reusable <see cref="NoiseStaticKey"/>.</summary>
    /// <param name="inner">The raw connection.</param>
    /// <param name="local">Our static key and identity.</param>
    /// <param name="cancellationToken">Cancels the handshake.</param>
    /// <exception cref="NoiseException">The handshake failed.</exception>
    public static Task<NoiseStream> SecureInboundAsync(Stream inner, NoiseStaticKey local, CancellationToken cancellationToken = default) =>
        SecureAsync(inner, local, initiator: false, expectedRemote: null, cancellationToken);

    private static Task<NoiseStream> SecureAsync(Stream inner, NoiseStaticKey local, bool initiator, PeerId? expectedRemote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(local);
        return RunAsync(inner, new NoiseHandshakeState(initiator, ReadOnlySpan<byte>.Empty, local.Key, ownsStatic: false),
            _ => local.EncodedPayload, initiator, expectedRemote, cancellationToken);
    }

    /// <summary>
    /// The handshake for either role. <paramref name="payloadHook"/> lets tests send a tampered payload.
    /// </summary>
    internal static Task<NoiseStream> SecureAsync(
        Stream inner, Identity local, bool initiator, PeerId? expectedRemote,
        Func<NoiseHandshakePayload, NoiseHandshakePayload>? payloadHook, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(local);
        return RunAsync(inner, new NoiseHandshakeState(initiator, ReadOnlySpan<byte>.Empty, NoiseHandshakeState.GenerateKey()),
            state => LocalPayload(state, local, payloadHook), initiator, expectedRemote, cancellationToken);
    }

    private static async Task<NoiseStream> RunAsync(
        Stream inner, NoiseHandshakeState handshake, Func<NoiseHandshakeState, byte[]> localPayload, bool initiator,
        PeerId? expectedRemote, CancellationToken cancellationToken)
    {
        using var state = handshake;
        ArgumentNullException.ThrowIfNull(inner);
        PublicKey remoteKey;
        PeerId remotePeer;
        if (initiator)
        {
            await WriteMessageAsync(inner, state.WriteMessage(ReadOnlySpan<byte>.Empty), cancellationToken).ConfigureAwait(false);
            byte[] message2 = await ReadMessageAsync(inner, cancellationToken).ConfigureAwait(false);
            (remoteKey, remotePeer) = Authenticate(state.ReadMessage(message2), state.RemoteStaticPublicKey, expectedRemote);
            await WriteMessageAsync(inner, state.WriteMessage(localPayload(state)), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // Message 1 carries no libp2p payload; anything there is ignored.
            byte[] message1 = await ReadMessageAsync(inner, cancellationToken).ConfigureAwait(false);
            state.ReadMessage(message1);
            await WriteMessageAsync(inner, state.WriteMessage(localPayload(state)), cancellationToken).ConfigureAwait(false);
            byte[] message3 = await ReadMessageAsync(inner, cancellationToken).ConfigureAwait(false);
            (remoteKey, remotePeer) = Authenticate(state.ReadMessage(message3), state.RemoteStaticPublicKey, expectedRemote);
        }
        var (send, receive) = state.Split();
        return new NoiseStream(inner, send, receive, remoteKey, remotePeer);
    }

    private static byte[] LocalPayload(NoiseHandshakeState state, Identity local, Func<NoiseHandshakePayload, NoiseHandshakePayload>? hook)
    {
        var payload = NoiseHandshakePayload.Create(local, state.LocalStaticPublicKey);
        if (hook is not null) payload = hook(payload);
        return payload.Encode();
    }

    /// <summary>Checks the remote's payload against its Noise static key and derives who it is.</summary>
    private static (PublicKey Key, PeerId Peer) Authenticate(byte[] payloadBytes, ReadOnlySpan<byte> remoteStatic, PeerId? expectedRemote)
    {
        var payload = NoiseHandshakePayload.Decode(payloadBytes);
        PublicKey key;
        try
        {
            key = PublicKey.FromProtobuf(payload.IdentityKey);
        }
        catch (FormatException ex)
        {
            throw new NoiseException(NoiseError.BadPayload, "handshake payload holds a malformed identity key", ex);
        }
        if (key.Type != KeyType.Ed25519)
            throw new NoiseException(NoiseError.UnsupportedKey, $"remote identity key type {key.Type} is not supported");
        if (!key.Verify(NoiseHandshakePayload.SignedData(remoteStatic), payload.IdentitySignature))
            throw new NoiseException(NoiseError.BadSignature, "remote identity signature over its Noise static key is invalid");
        var peer = key.ToPeerId();
        if (expectedRemote is not null && expectedRemote != peer)
            throw new NoiseException(NoiseError.PeerIdMismatch, $"dialed {expectedRemote} but the remote is {peer}");
        return (key, peer);
    }

    private static async Task WriteMessageAsync(Stream inner, byte[] message, CancellationToken cancellationToken)
    {
        if (message.Length > MaxMessageLength)
            throw new NoiseException(NoiseError.FrameTooLarge, $"handshake message of {message.Length} bytes exceeds {MaxMessageLength}");
        // Prefix and message in one write so they travel in one segment.
        byte[] frame = new byte[LengthPrefixSize + message.Length];
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)message.Length);
        message.CopyTo(frame, LengthPrefixSize);
        await inner.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads exactly one length-prefixed message, never more, so early transport data stays in the stream.</summary>
    private static async Task<byte[]> ReadMessageAsync(Stream inner, CancellationToken cancellationToken)
    {
        byte[] prefix = ArrayPool<byte>.Shared.Rent(LengthPrefixSize);
        try
        {
            await inner.ReadExactlyAsync(prefix.AsMemory(0, LengthPrefixSize), cancellationToken).ConfigureAwait(false);
            int length = BinaryPrimitives.ReadUInt16BigEndian(prefix);
            byte[] message = new byte[length]; // at most MaxMessageLength by construction of the prefix
            await inner.ReadExactlyAsync(message, cancellationToken).ConfigureAwait(false);
            return message;
        }
        catch (EndOfStreamException ex)
        {
            throw new NoiseException(NoiseError.Truncated, "connection closed during the Noise handshake", ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(prefix);
        }
    }
}
