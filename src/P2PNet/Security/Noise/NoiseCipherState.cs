using System.Buffers.Binary;
using System.Security.Cryptography;

namespace P2PNet.Security.Noise;

/// <summary>
/// Noise CipherState for ChaChaPoly: a key (one BCL <see cref="ChaCha20Poly1305"/> instance) and a 64-bit nonce
/// counter. Without a key, encryption is the identity function, as the Noise spec requires during the handshake.
/// </summary>
internal sealed class NoiseCipherState : IDisposable
{
    /// <summary>ChaChaPoly key length.</summary>
    public const int KeyLength = 32;

    /// <summary>Poly1305 tag length appended to every ciphertext.</summary>
    public const int TagLength = 16;

    private const int NonceLength = 12;

    // 2^64-1 is reserved by the Noise spec (used by Rekey), so it may never encrypt data.
    private const ulong MaxNonce = ulong.MaxValue;

    private ChaCha20Poly1305? _aead;

    /// <summary>True once a key is set.</summary>
    public bool HasKey => _aead is not null;

    /// <summary>The next nonce; settable so tests can reach the exhaustion limit.</summary>
    internal ulong Nonce { get; set; }

    /// <summary>Sets the key and resets the nonce to zero.</summary>
    public void InitializeKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyLength) throw new ArgumentException("a ChaChaPoly key is 32 bytes", nameof(key));
        _aead?.Dispose();
        _aead = new ChaCha20Poly1305(key);
        Nonce = 0;
    }

    /// <summary>
    /// Encrypts <paramref name="plaintext"/> into <paramref name="destination"/> (ciphertext then tag) and
    /// returns the bytes written; copies the plaintext when there is no key.
    /// </summary>
    public int EncryptWithAd(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        if (_aead is null)
        {
            plaintext.CopyTo(destination);
            return plaintext.Length;
        }
        if (Nonce == MaxNonce) throw new NoiseException(NoiseError.NonceExhausted, "Noise nonce space exhausted");
        Span<byte> nonce = stackalloc byte[NonceLength];
        WriteNonce(nonce, Nonce);
        _aead.Encrypt(nonce, plaintext, destination[..plaintext.Length], destination.Slice(plaintext.Length, TagLength), associatedData);
        Nonce++;
        return plaintext.Length + TagLength;
    }

    /// <summary>
    /// Decrypts and authenticates <paramref name="ciphertext"/> (ciphertext then tag) into
    /// <paramref name="destination"/>, which may be the same memory as the ciphertext; returns the plaintext length.
    /// The nonce only advances on success.
    /// </summary>
    public int DecryptWithAd(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext, Span<byte> destination)
    {
        if (_aead is null)
        {
            ciphertext.CopyTo(destination);
            return ciphertext.Length;
        }
        if (ciphertext.Length < TagLength) throw new NoiseException(NoiseError.DecryptFailed, "ciphertext shorter than its tag");
        if (Nonce == MaxNonce) throw new NoiseException(NoiseError.NonceExhausted, "Noise nonce space exhausted");
        int plaintextLength = ciphertext.Length - TagLength;
        Span<byte> nonce = stackalloc byte[NonceLength];
        WriteNonce(nonce, Nonce);
        try
        {
            _aead.Decrypt(nonce, ciphertext[..plaintextLength], ciphertext[plaintextLength..], destination[..plaintextLength], associatedData);
        }
        catch (CryptographicException ex)
        {
            throw new NoiseException(NoiseError.DecryptFailed, "Noise message failed authentication", ex);
        }
        Nonce++;
        return plaintextLength;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _aead?.Dispose();
        _aead = null;
    }

    // Noise ChaChaPoly nonce: 32 zero bits then the counter as 64-bit little-endian.
    private static void WriteNonce(Span<byte> nonce, ulong n)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], n);
    }
}
