using NSec.Cryptography;

namespace P2PNet.Core;

/// <summary>
/// A libp2p public key: its type and raw bytes, with the deterministic protobuf form
/// (<c>message PublicKey { required KeyType Type = 1; required bytes Data = 2; }</c>) that PeerIds hash.
/// </summary>
public sealed class PublicKey : IEquatable<PublicKey>
{
    /// <summary>Largest protobuf-encoded key accepted from a peer (an RSA-4096 key is ~550 bytes).</summary>
    public const int MaxEncodedLength = 1024;

    private readonly byte[] _data;

    /// <summary>Creates a key from its type and raw bytes.</summary>
    public PublicKey(KeyType type, ReadOnlySpan<byte> data)
    {
        Type = type;
        _data = data.ToArray();
    }

    /// <summary>The key type.</summary>
    public KeyType Type { get; }

    /// <summary>The raw key bytes (32 bytes for Ed25519).</summary>
    public ReadOnlySpan<byte> Data => _data;

    /// <summary>The protobuf encoding of this key, fields in order as the spec requires.</summary>
    public byte[] ToProtobuf() => KeyProtobuf.Write(Type, _data);

    /// <summary>Parses the protobuf form; throws <see cref="FormatException"/> when malformed or over limits.</summary>
    public static PublicKey FromProtobuf(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxEncodedLength) throw new FormatException("public key too large");
        var (type, data) = KeyProtobuf.Read(encoded, "public key");
        return new PublicKey(type, data);
    }

    /// <summary>Verifies an Ed25519 signature made by this key; false for any other key type.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (Type != KeyType.Ed25519 || _data.Length != 32 || signature.Length != 64) return false;
        if (!NSec.Cryptography.PublicKey.TryImport(SignatureAlgorithm.Ed25519, _data, KeyBlobFormat.RawPublicKey, out var key) || key is null)
            return false;
        return SignatureAlgorithm.Ed25519.Verify(key, message, signature);
    }

    /// <summary>The PeerId derived from this key.</summary>
    public PeerId ToPeerId() => PeerId.FromPublicKey(this);

    /// <inheritdoc />
    public bool Equals(PublicKey? other) => other is not null && Type == other.Type && _data.AsSpan().SequenceEqual(other._data);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as PublicKey);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Type);
        hash.AddBytes(_data);
        return hash.ToHashCode();
    }
}
