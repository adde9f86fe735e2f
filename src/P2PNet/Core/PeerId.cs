using System.Security.Cryptography;

namespace P2PNet.Core;

/// <summary>
/// A libp2p PeerId: the multihash of a peer's protobuf-encoded public key (identity multihash when the
/// encoding is at most 42 bytes, as for Ed25519; SHA-256 otherwise), written as base58btc text.
/// </summary>
public sealed class PeerId : IEquatable<PeerId>
{
    private const byte IdentityCode = 0x00;
    private const byte Sha256Code = 0x12;
    private const int MaxInlineKeyLength = 42;

    /// <summary>Longest binary PeerId accepted (identity multihash of an inlined key).</summary>
    public const int MaxLength = 2 + MaxInlineKeyLength;

    private readonly byte[] _bytes;
    private readonly string _text;

    private PeerId(byte[] bytes, string? text = null)
    {
        _bytes = bytes;
        // base58btc is one-to-one (leading '1's are the leading zero bytes), so parsed text is already canonical.
        _text = text ?? Base58.Encode(bytes);
    }

    /// <summary>The multihash bytes.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>Derives the PeerId of a public key.</summary>
    public static PeerId FromPublicKey(PublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        byte[] encoded = key.ToProtobuf();
        byte[] bytes;
        if (encoded.Length <= MaxInlineKeyLength)
        {
            bytes = new byte[2 + encoded.Length];
            bytes[0] = IdentityCode;
            bytes[1] = (byte)encoded.Length;
            encoded.CopyTo(bytes, 2);
        }
        else
        {
            bytes = new byte[2 + 32];
            bytes[0] = Sha256Code;
            bytes[1] = 32;
            SHA256.HashData(encoded, bytes.AsSpan(2));
        }
        return new PeerId(bytes);
    }

    /// <summary>Reads a PeerId from its multihash bytes; throws <see cref="FormatException"/> when malformed.</summary>
    public static PeerId FromBytes(ReadOnlySpan<byte> bytes)
    {
        Check(bytes);
        return new PeerId(bytes.ToArray());
    }

    private static void Check(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 2 || bytes.Length > MaxLength) throw new FormatException("PeerId has a bad length");
        if (bytes[0] == Sha256Code)
        {
            if (bytes[1] != 32 || bytes.Length != 34) throw new FormatException("PeerId sha2-256 multihash has a bad length");
        }
        else if (bytes[0] == IdentityCode)
        {
            if (bytes[1] != bytes.Length - 2) throw new FormatException("PeerId identity multihash has a bad length");
            PublicKey.FromProtobuf(bytes[2..]); // the inlined key must itself parse
        }
        else
        {
            throw new FormatException($"PeerId uses unsupported multihash code 0x{bytes[0]:x2}");
        }
    }

    /// <summary>Parses base58btc PeerId text; throws <see cref="FormatException"/> when malformed.</summary>
    public static PeerId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0 || text.Length > 128) throw new FormatException("PeerId text has a bad length");
        byte[] bytes = Base58.Decode(text);
        Check(bytes);
        return new PeerId(bytes, text);
    }

    /// <summary>Parses PeerId text without throwing.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PeerId? peerId)
    {
        peerId = null;
        if (text is null) return false;
        try
        {
            peerId = Parse(text);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>The public key inlined in an identity-multihash PeerId, or null when it is hashed.</summary>
    public PublicKey? TryGetPublicKey() => _bytes[0] == IdentityCode ? PublicKey.FromProtobuf(_bytes.AsSpan(2)) : null;

    /// <summary>True when <paramref name="key"/> is the key this PeerId was made from.</summary>
    public bool Matches(PublicKey key) => Equals(FromPublicKey(key));

    /// <inheritdoc />
    public bool Equals(PeerId? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as PeerId);

    /// <inheritdoc />
    public override int GetHashCode() => _text.GetHashCode(StringComparison.Ordinal);

    /// <summary>The base58btc text form.</summary>
    public override string ToString() => _text;

    /// <summary>Equality by value.</summary>
    public static bool operator ==(PeerId? left, PeerId? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Inequality by value.</summary>
    public static bool operator !=(PeerId? left, PeerId? right) => !(left == right);
}
