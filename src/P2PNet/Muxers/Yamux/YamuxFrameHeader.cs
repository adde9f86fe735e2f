using System.Buffers.Binary;

namespace P2PNet.Muxers.Yamux;

/// <summary>The fixed 12-byte yamux frame header: version, type, flags, stream id, length (big endian).</summary>
internal readonly record struct YamuxFrameHeader(byte Version, YamuxFrameType Type, YamuxFlags Flags, uint StreamId, uint Length)
{
    /// <summary>Encoded header size in bytes.</summary>
    public const int Size = 12;

    /// <summary>The only protocol version defined.</summary>
    public const byte ProtocolVersion = 0;

    /// <summary>Window every stream starts with, in both directions (fixed by the spec).</summary>
    public const int DefaultWindow = 256 * 1024;

    /// <summary>Creates a version-0 header.</summary>
    public YamuxFrameHeader(YamuxFrameType type, YamuxFlags flags, uint streamId, uint length)
        : this(ProtocolVersion, type, flags, streamId, length) { }

    /// <summary>Encodes into <paramref name="destination"/> (at least <see cref="Size"/> bytes).</summary>
    public void Write(Span<byte> destination)
    {
        destination[0] = Version;
        destination[1] = (byte)Type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)Flags);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], StreamId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], Length);
    }

    /// <summary>Decodes without validation (the session validates version and type).</summary>
    public static YamuxFrameHeader Read(ReadOnlySpan<byte> source) => new(
        source[0],
        (YamuxFrameType)source[1],
        (YamuxFlags)BinaryPrimitives.ReadUInt16BigEndian(source[2..]),
        BinaryPrimitives.ReadUInt32BigEndian(source[4..]),
        BinaryPrimitives.ReadUInt32BigEndian(source[8..]));
}
