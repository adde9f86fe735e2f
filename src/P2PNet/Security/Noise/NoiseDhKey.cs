using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace P2PNet.Security.Noise;

/// <summary>
/// An X25519 key pair for the Noise handshake, computed by libsodium (the native library NSec ships and loads)
/// with the private key in pinned managed memory that <see cref="Dispose"/> zeroes. No primitive is written here:
/// key generation is 32 random bytes from the BCL and <c>crypto_scalarmult_curve25519_base</c>, agreement is
/// <c>crypto_scalarmult_curve25519</c>.
/// </summary>
/// <remarks>
/// NSec keeps every <c>Key</c> and <c>SharedSecret</c> in libsodium's guarded heap (<c>sodium_malloc</c>: an mmap,
/// mprotect and mlock per allocation, munmap on release), about ten syscalls each; a handshake made one ephemeral
/// key and three shared secrets per side, about 140 µs of kernel time. The secrets here live only as long as
/// NSec's did, and are zeroed the same way, but cost no syscalls.
/// </remarks>
internal sealed class NoiseDhKey : IDisposable
{
    /// <summary>X25519 key and shared-secret length.</summary>
    public const int Length = 32;

    private readonly byte[] _private;
    private int _disposed;

    static NoiseDhKey()
    {
        // Idempotent and thread-safe; NSec calls it too. Picks libsodium's fastest implementations.
        if (Libsodium.sodium_init() < 0) throw new InvalidOperationException("libsodium failed to initialize");
    }

    private NoiseDhKey(byte[] privateKey)
    {
        _private = privateKey;
        PublicKey = new byte[Length];
        if (Libsodium.crypto_scalarmult_curve25519_base(PublicKey, _private) != 0)
        {
            CryptographicOperations.ZeroMemory(_private);
            throw new CryptographicException("X25519 public key derivation failed");
        }
    }

    /// <summary>The raw 32-byte public key.</summary>
    public byte[] PublicKey { get; }

    /// <summary>A fresh key pair from the BCL's random number generator.</summary>
    public static NoiseDhKey Generate()
    {
        byte[] secret = GC.AllocateUninitializedArray<byte>(Length, pinned: true);
        RandomNumberGenerator.Fill(secret);
        return new NoiseDhKey(secret);
    }

    /// <summary>Imports a raw 32-byte private key (test vectors).</summary>
    public static NoiseDhKey Import(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != Length) throw new ArgumentException("an X25519 private key is 32 bytes", nameof(privateKey));
        byte[] secret = GC.AllocateUninitializedArray<byte>(Length, pinned: true);
        privateKey.CopyTo(secret);
        return new NoiseDhKey(secret);
    }

    /// <summary>
    /// X25519(private, <paramref name="remotePublic"/>) into <paramref name="sharedSecret"/> (32 bytes, pinned by the
    /// caller's ownership); false when libsodium refuses the point (a low-order remote key, all-zero result).
    /// </summary>
    public bool TryAgree(byte[] remotePublic, byte[] sharedSecret)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (remotePublic.Length != Length || sharedSecret.Length != Length) return false;
        return Libsodium.crypto_scalarmult_curve25519(sharedSecret, _private, remotePublic) == 0;
    }

    /// <summary>Zeroes the private key.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        CryptographicOperations.ZeroMemory(_private);
    }

    private static class Libsodium
    {
        // The same library name NSec binds to, so the same native file is used (runtimes/<rid>/native of the
        // libsodium package, next to the executable after an AOT publish).
        private const string Library = "libsodium";

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int sodium_init();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int crypto_scalarmult_curve25519_base([Out] byte[] q, [In] byte[] n);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int crypto_scalarmult_curve25519([Out] byte[] q, [In] byte[] n, [In] byte[] p);
    }
}
