using System.Security.Cryptography;

namespace P2PNet.Security.Noise;

/// <summary>
/// Noise SymmetricState for SHA256: the chaining key, the handshake hash and the handshake CipherState.
/// </summary>
internal sealed class NoiseSymmetricState : IDisposable
{
    /// <summary>SHA256 output length (Noise HASHLEN).</summary>
    public const int HashLength = 32;

    private readonly byte[] _ck = new byte[HashLength];
    private readonly byte[] _h = new byte[HashLength];
    private readonly NoiseCipherState _cipher = new();
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>InitializeSymmetric(protocol_name).</summary>
    public NoiseSymmetricState(ReadOnlySpan<byte> protocolName)
    {
        // Names up to HASHLEN are used zero-padded; longer ones are hashed.
        if (protocolName.Length <= HashLength) protocolName.CopyTo(_h);
        else SHA256.HashData(protocolName, _h);
        _h.CopyTo(_ck, 0);
    }

    /// <summary>The handshake hash h (channel binding value once the handshake is done).</summary>
    public ReadOnlySpan<byte> HandshakeHash => _h;

    /// <summary>True once a key was mixed in, i.e. payloads are encrypted.</summary>
    public bool HasKey => _cipher.HasKey;

    /// <summary>MixKey: ck, k = HKDF(ck, ikm, 2).</summary>
    public void MixKey(ReadOnlySpan<byte> inputKeyMaterial)
    {
        Span<byte> output = stackalloc byte[2 * HashLength];
        Hkdf(inputKeyMaterial, output);
        output[..HashLength].CopyTo(_ck);
        _cipher.InitializeKey(output[HashLength..]);
        CryptographicOperations.ZeroMemory(output);
    }

    /// <summary>MixHash: h = HASH(h || data).</summary>
    public void MixHash(ReadOnlySpan<byte> data)
    {
        _hash.AppendData(_h);
        _hash.AppendData(data);
        _hash.GetHashAndReset(_h);
    }

    /// <summary>EncryptAndHash; returns the ciphertext (or the plaintext while there is no key).</summary>
    public byte[] EncryptAndHash(ReadOnlySpan<byte> plaintext)
    {
        byte[] ciphertext = new byte[plaintext.Length + (_cipher.HasKey ? NoiseCipherState.TagLength : 0)];
        _cipher.EncryptWithAd(_h, plaintext, ciphertext);
        MixHash(ciphertext);
        return ciphertext;
    }

    /// <summary>DecryptAndHash; returns the plaintext.</summary>
    public byte[] DecryptAndHash(ReadOnlySpan<byte> ciphertext)
    {
        int overhead = _cipher.HasKey ? NoiseCipherState.TagLength : 0;
        if (ciphertext.Length < overhead) throw new NoiseException(NoiseError.BadMessage, "handshake ciphertext shorter than its tag");
        byte[] plaintext = new byte[ciphertext.Length - overhead];
        _cipher.DecryptWithAd(_h, ciphertext, plaintext);
        MixHash(ciphertext);
        return plaintext;
    }

    /// <summary>Split: the (initiator-to-responder, responder-to-initiator) transport cipher states.</summary>
    public (NoiseCipherState First, NoiseCipherState Second) Split()
    {
        Span<byte> output = stackalloc byte[2 * HashLength];
        Hkdf(ReadOnlySpan<byte>.Empty, output);
        var first = new NoiseCipherState();
        var second = new NoiseCipherState();
        first.InitializeKey(output[..HashLength]);
        second.InitializeKey(output[HashLength..]);
        CryptographicOperations.ZeroMemory(output);
        return (first, second);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _cipher.Dispose();
        _hash.Dispose();
        CryptographicOperations.ZeroMemory(_ck);
    }

    // Noise HKDF(ck, ikm) with two outputs, built on HMAC-SHA256 exactly as the Noise spec defines it:
    // temp = HMAC(ck, ikm); out1 = HMAC(temp, 0x01); out2 = HMAC(temp, out1 || 0x02).
    // (The BCL HKDF class is the same function but OpenSSL rejects the empty ikm that Split uses.)
    private void Hkdf(ReadOnlySpan<byte> inputKeyMaterial, Span<byte> output)
    {
        Span<byte> tempKey = stackalloc byte[HashLength];
        Span<byte> block = stackalloc byte[HashLength + 1];
        HMACSHA256.HashData(_ck, inputKeyMaterial, tempKey);
        block[0] = 0x01;
        HMACSHA256.HashData(tempKey, block[..1], output[..HashLength]);
        output[..HashLength].CopyTo(block);
        block[HashLength] = 0x02;
        HMACSHA256.HashData(tempKey, block, output.Slice(HashLength, HashLength));
        CryptographicOperations.ZeroMemory(tempKey);
        CryptographicOperations.ZeroMemory(block);
    }
}
