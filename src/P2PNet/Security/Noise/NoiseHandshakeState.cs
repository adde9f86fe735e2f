using System.Security.Cryptography;

namespace P2PNet.Security.Noise;

/// <summary>
/// Noise HandshakeState for <c>Noise_XX_25519_ChaChaPoly_SHA256</c>:
/// <c>-&gt; e</c>, <c>&lt;- e, ee, s, es</c>, <c>-&gt; s, se</c>. Messages are produced and consumed whole;
/// framing and I/O are the caller's job.
/// </summary>
internal sealed class NoiseHandshakeState : IDisposable
{
    /// <summary>X25519 public key length (Noise DHLEN).</summary>
    public const int DhLength = 32;

    private const int EncryptedStaticLength = DhLength + NoiseCipherState.TagLength;

    private readonly bool _initiator;
    private readonly NoiseSymmetricState _symmetric;
    private readonly NoiseDhKey _static;
    private readonly bool _ownsStatic;
    private readonly byte[] _staticPublic;
    private NoiseDhKey? _ephemeral;
    // Every DH result passes through here and is zeroed after MixKey; pinned so the GC leaves no copy behind.
    private readonly byte[] _shared = GC.AllocateArray<byte>(NoiseDhKey.Length, pinned: true);
    private byte[]? _remoteEphemeral;
    private byte[]? _remoteStatic;
    private int _messageIndex;

    /// <summary>
    /// Starts a handshake. <paramref name="staticKey"/> is owned by this state from now on unless
    /// <paramref name="ownsStatic"/> is false (a shared <see cref="NoiseStaticKey"/>);
    /// <paramref name="ephemeralKey"/> is only given by tests that replay fixed vectors (otherwise generated).
    /// </summary>
    public NoiseHandshakeState(bool initiator, ReadOnlySpan<byte> prologue, NoiseDhKey staticKey, NoiseDhKey? ephemeralKey = null, bool ownsStatic = true)
    {
        _initiator = initiator;
        _static = staticKey;
        _ownsStatic = ownsStatic;
        _staticPublic = staticKey.PublicKey;
        _ephemeral = ephemeralKey;
        _symmetric = new NoiseSymmetricState("Noise_XX_25519_ChaChaPoly_SHA256"u8);
        _symmetric.MixHash(prologue);
    }

    /// <summary>Our Noise static public key (what the libp2p payload signature covers).</summary>
    public ReadOnlySpan<byte> LocalStaticPublicKey => _staticPublic;

    /// <summary>The remote's Noise static public key, once received.</summary>
    public ReadOnlySpan<byte> RemoteStaticPublicKey => _remoteStatic;

    /// <summary>The handshake hash.</summary>
    public ReadOnlySpan<byte> HandshakeHash => _symmetric.HandshakeHash;

    /// <summary>True after all three messages.</summary>
    public bool IsComplete => _messageIndex == 3;

    /// <summary>A fresh X25519 key pair (libsodium, private key in managed memory zeroed on dispose).</summary>
    public static NoiseDhKey GenerateKey() => NoiseDhKey.Generate();

    /// <summary>Imports a raw 32-byte X25519 private key (test vectors).</summary>
    public static NoiseDhKey ImportPrivateKey(ReadOnlySpan<byte> privateKey) => NoiseDhKey.Import(privateKey);

    /// <summary>Writes the next handshake message (must be our turn) carrying <paramref name="payload"/>.</summary>
    public byte[] WriteMessage(ReadOnlySpan<byte> payload)
    {
        if (!IsOurTurn) throw new InvalidOperationException("not this side's turn to write a handshake message");
        byte[][] parts;
        switch (_messageIndex)
        {
            case 0: // -> e
                parts = [WriteEphemeral(), _symmetric.EncryptAndHash(payload)];
                break;
            case 1: // <- e, ee, s, es
                {
                    byte[] e = WriteEphemeral();
                    MixDh(_ephemeral!, _remoteEphemeral!);
                    byte[] s = _symmetric.EncryptAndHash(_staticPublic);
                    MixDh(_static, _remoteEphemeral!);
                    parts = [e, s, _symmetric.EncryptAndHash(payload)];
                    break;
                }
            default: // -> s, se
                {
                    byte[] s = _symmetric.EncryptAndHash(_staticPublic);
                    MixDh(_static, _remoteEphemeral!);
                    parts = [s, _symmetric.EncryptAndHash(payload)];
                    break;
                }
        }
        _messageIndex++;
        return Concat(parts);
    }

    /// <summary>Reads the next handshake message (must be the remote's turn) and returns its payload.</summary>
    public byte[] ReadMessage(ReadOnlySpan<byte> message)
    {
        if (IsOurTurn || IsComplete) throw new InvalidOperationException("not the remote's turn to send a handshake message");
        byte[] payload;
        switch (_messageIndex)
        {
            case 0: // -> e
                RequireLength(message, DhLength);
                ReadEphemeral(message[..DhLength]);
                payload = _symmetric.DecryptAndHash(message[DhLength..]);
                break;
            case 1: // <- e, ee, s, es
                RequireLength(message, DhLength + EncryptedStaticLength + NoiseCipherState.TagLength);
                ReadEphemeral(message[..DhLength]);
                MixDh(_ephemeral!, _remoteEphemeral!);
                _remoteStatic = _symmetric.DecryptAndHash(message.Slice(DhLength, EncryptedStaticLength));
                MixDh(_ephemeral!, _remoteStatic);
                payload = _symmetric.DecryptAndHash(message[(DhLength + EncryptedStaticLength)..]);
                break;
            default: // -> s, se
                RequireLength(message, EncryptedStaticLength + NoiseCipherState.TagLength);
                _remoteStatic = _symmetric.DecryptAndHash(message[..EncryptedStaticLength]);
                MixDh(_ephemeral!, _remoteStatic);
                payload = _symmetric.DecryptAndHash(message[EncryptedStaticLength..]);
                break;
        }
        _messageIndex++;
        return payload;
    }

    /// <summary>
    /// Split after the last message: returns (send, receive) for this side. The initiator sends with the
    /// first cipher state (initiator-to-responder) and the responder with the second.
    /// </summary>
    public (NoiseCipherState Send, NoiseCipherState Receive) Split()
    {
        if (!IsComplete) throw new InvalidOperationException("handshake not complete");
        var (first, second) = _symmetric.Split();
        return _initiator ? (first, second) : (second, first);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _symmetric.Dispose();
        if (_ownsStatic) _static.Dispose();
        _ephemeral?.Dispose();
        CryptographicOperations.ZeroMemory(_shared);
    }

    // The initiator writes messages 0 and 2, the responder message 1.
    private bool IsOurTurn => !IsComplete && (_messageIndex % 2 == 0) == _initiator;

    private byte[] WriteEphemeral()
    {
        _ephemeral ??= GenerateKey();
        byte[] e = _ephemeral.PublicKey;
        _symmetric.MixHash(e);
        return e;
    }

    private void ReadEphemeral(ReadOnlySpan<byte> e)
    {
        _remoteEphemeral = e.ToArray();
        _symmetric.MixHash(_remoteEphemeral);
    }

    private void MixDh(NoiseDhKey privateKey, byte[] remotePublic)
    {
        // libsodium refuses a low-order remote point (an all-zero result), as NSec did: treat that as a bad key.
        if (!privateKey.TryAgree(remotePublic, _shared))
            throw new NoiseException(NoiseError.BadNoiseKey, "invalid X25519 public key (low order or all-zero shared secret)");
        try
        {
            _symmetric.MixKey(_shared);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(_shared);
        }
    }

    private static void RequireLength(ReadOnlySpan<byte> message, int minimum)
    {
        if (message.Length < minimum)
            throw new NoiseException(NoiseError.BadMessage, $"handshake message of {message.Length} bytes is shorter than the {minimum} the XX pattern requires");
    }

    private static byte[] Concat(byte[][] parts)
    {
        int length = 0;
        foreach (var part in parts) length += part.Length;
        byte[] result = new byte[length];
        int offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }
        return result;
    }
}
