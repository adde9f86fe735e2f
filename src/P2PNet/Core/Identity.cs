using NSec.Cryptography;

namespace P2PNet.Core;

/// <summary>
/// A node's Ed25519 identity key pair (NSec), with its libp2p public key and PeerId.
/// Keys are generated in memory or kept in a key file holding the libp2p private-key protobuf.
/// </summary>
public sealed class Identity : IDisposable
{
    private const int MaxKeyFileLength = 4096;
    private readonly Key _key;

    private Identity(Key key)
    {
        _key = key;
        PublicKey = new PublicKey(KeyType.Ed25519, key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
        PeerId = PeerId.FromPublicKey(PublicKey);
    }

    /// <summary>The public key.</summary>
    public PublicKey PublicKey { get; }

    /// <summary>The PeerId, bound to <see cref="PublicKey"/>.</summary>
    public PeerId PeerId { get; }

    /// <summary>Creates a fresh random identity, kept in memory only.</summary>
    public static Identity Generate() =>
        new(Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>Creates an identity from a 32-byte Ed25519 seed.</summary>
    public static Identity FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != 32) throw new ArgumentException("an Ed25519 seed is 32 bytes", nameof(seed));
        return new(Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey,
            new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));
    }

    /// <summary>Signs a message with the private key (64-byte Ed25519 signature).</summary>
    public byte[] Sign(ReadOnlySpan<byte> message) => SignatureAlgorithm.Ed25519.Sign(_key, message);

    /// <summary>
    /// The libp2p private-key protobuf (<c>PrivateKey { Type = 1; Data = 2 }</c>); for Ed25519 Data is
    /// the 32-byte seed followed by the 32-byte public key, as go- and js-libp2p write it.
    /// </summary>
    public byte[] ExportPrivateKeyProtobuf()
    {
        byte[] data = new byte[64];
        _key.Export(KeyBlobFormat.RawPrivateKey).CopyTo(data, 0);
        PublicKey.Data.CopyTo(data.AsSpan(32));
        return KeyProtobuf.Write(KeyType.Ed25519, data);
    }

    /// <summary>Reads a private-key protobuf; throws <see cref="FormatException"/> for anything but a valid Ed25519 key.</summary>
    public static Identity ImportPrivateKeyProtobuf(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxKeyFileLength) throw new FormatException("private key too large");
        var (type, data) = KeyProtobuf.Read(encoded, "private key");
        if (type != KeyType.Ed25519) throw new FormatException($"unsupported private key type {type}");
        if (data.Length != 64 && data.Length != 32) throw new FormatException("Ed25519 private key must be 32 or 64 bytes");
        var identity = FromSeed(data.AsSpan(0, 32));
        if (data.Length == 64 && !identity.PublicKey.Data.SequenceEqual(data.AsSpan(32)))
        {
            identity.Dispose();
            throw new FormatException("Ed25519 private key does not match its public half");
        }
        return identity;
    }

    /// <summary>
    /// Loads the identity from <paramref name="path"/>, or creates one and writes it there with file mode 0600.
    /// </summary>
    public static async Task<Identity> LoadOrCreateAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path))
        {
            var info = new FileInfo(path);
            if (info.Length > MaxKeyFileLength) throw new FormatException($"key file {path} is too large to be a key");
            return ImportPrivateKeyProtobuf(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false));
        }
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var identity = Generate();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using (var file = new FileStream(path, options))
        {
            await file.WriteAsync(identity.ExportPrivateKeyProtobuf(), cancellationToken).ConfigureAwait(false);
        }
        return identity;
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}
