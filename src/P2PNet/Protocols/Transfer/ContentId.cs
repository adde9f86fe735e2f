using System.Diagnostics.CodeAnalysis;
using P2PNet.Wire;

namespace P2PNet.Protocols.Transfer;

/// <summary>
/// A file's address: a CIDv1 (codec raw, 0x55) whose multihash has code <see cref="TreeHashCode"/>, naming the
/// root of P2PNet's BLAKE3 Merkle tree over 16 KiB leaves (see <see cref="MerkleTree"/>), not the plain hash of the
/// file. The text form is multibase base32 ('b' prefix), as IPFS writes CIDv1.
/// </summary>
public sealed class ContentId : IEquatable<ContentId>
{
    /// <summary>
    /// Multihash code of "p2pnet-blake3-tree-16k", taken from the private-use range 0x300000–0x3fffff so that no
    /// reader mistakes the digest for BLAKE3 (0x1e) of the whole file.
    /// </summary>
    public const ulong TreeHashCode = 0x30B316;

    /// <summary>The raw codec (0x55): the addressed bytes are the file itself.</summary>
    public const ulong RawCodec = 0x55;

    /// <summary>Digest length in bytes.</summary>
    public const int DigestSize = 32;

    /// <summary>Length of the binary form: version, codec, multihash code and length varints plus the digest.</summary>
    public const int EncodedSize = 1 + 1 + 4 + 1 + DigestSize;

    /// <summary>Longest text form accepted by <see cref="TryParse"/>.</summary>
    public const int MaxTextLength = 128;

    private readonly byte[] _digest;

    /// <summary>Wraps a 32-byte tree digest.</summary>
    public ContentId(ReadOnlySpan<byte> digest)
    {
        if (digest.Length != DigestSize) throw new ArgumentException($"a tree digest has {DigestSize} bytes", nameof(digest));
        _digest = digest.ToArray();
    }

    /// <summary>The 32-byte tree digest.</summary>
    public ReadOnlySpan<byte> Digest => _digest;

    /// <summary>The binary CID: varint 1, varint 0x55, varint <see cref="TreeHashCode"/>, varint 32, digest.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[EncodedSize];
        int o = Varint.Write(bytes, 1);
        o += Varint.Write(bytes.AsSpan(o), RawCodec);
        o += Varint.Write(bytes.AsSpan(o), TreeHashCode);
        o += Varint.Write(bytes.AsSpan(o), DigestSize);
        _digest.CopyTo(bytes.AsSpan(o));
        return bytes;
    }

    /// <summary>Reads a binary CID; false unless it is exactly a CIDv1 raw with this tree's multihash.</summary>
    public static bool TryFromBytes(ReadOnlySpan<byte> bytes, [NotNullWhen(true)] out ContentId? cid)
    {
        cid = null;
        if (!TransferVarint.TryRead(bytes, out ulong version, out int n) || version != 1) return false;
        bytes = bytes[n..];
        if (!TransferVarint.TryRead(bytes, out ulong codec, out n) || codec != RawCodec) return false;
        bytes = bytes[n..];
        if (!TransferVarint.TryRead(bytes, out ulong code, out n) || code != TreeHashCode) return false;
        bytes = bytes[n..];
        if (!TransferVarint.TryRead(bytes, out ulong length, out n) || length != DigestSize) return false;
        bytes = bytes[n..];
        if (bytes.Length != DigestSize) return false;
        cid = new ContentId(bytes);
        return true;
    }

    /// <summary>Parses the base32 text form ('b' then RFC 4648 base32).</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out ContentId? cid)
    {
        cid = null;
        if (text is null || text.Length < 2 || text.Length > MaxTextLength || text[0] != 'b') return false;
        return Base32.TryDecode(text.AsSpan(1), out var bytes) && TryFromBytes(bytes, out cid);
    }

    /// <summary>Parses the text form; throws <see cref="FormatException"/> when it is not one.</summary>
    public static ContentId Parse(string text) =>
        TryParse(text, out var cid) ? cid : throw new FormatException($"'{text}' is not a P2PNet content id");

    /// <summary>The base32 text form.</summary>
    public override string ToString() => "b" + Base32.Encode(ToBytes());

    /// <inheritdoc />
    public bool Equals(ContentId? other) => other is not null && _digest.AsSpan().SequenceEqual(other._digest);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ContentId);

    /// <inheritdoc />
    public override int GetHashCode() => BitConverter.ToInt32(_digest, 0);
}
