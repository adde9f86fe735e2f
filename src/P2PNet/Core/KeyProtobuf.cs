using Google.Protobuf;

namespace P2PNet.Core;

/// <summary>
/// The libp2p key protobuf shared by public and private keys: <c>{ required KeyType Type = 1; required bytes Data = 2; }</c>.
/// </summary>
internal static class KeyProtobuf
{
    public static byte[] Write(KeyType type, ReadOnlySpan<byte> data)
    {
        // The type is sized too: a key read from a peer may carry any enum value, up to 10 varint bytes.
        var buffer = new byte[1 + CodedOutputStream.ComputeEnumSize((int)type) + 1 + CodedOutputStream.ComputeLengthSize(data.Length) + data.Length];
        var output = new CodedOutputStream(buffer);
        output.WriteTag(1, WireFormat.WireType.Varint);
        output.WriteEnum((int)type);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(data));
        output.Flush();
        return buffer.AsSpan(0, (int)output.Position).ToArray();
    }

    /// <summary>Reads Type and Data; unknown fields are skipped. Throws <see cref="FormatException"/> when malformed or incomplete.</summary>
    public static (KeyType Type, byte[] Data) Read(ReadOnlySpan<byte> encoded, string what)
    {
        KeyType? type = null;
        byte[]? data = null;
        try
        {
            var input = new CodedInputStream(encoded.ToArray());
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint:
                        type = (KeyType)input.ReadEnum();
                        break;
                    case 2 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                        data = input.ReadBytes().ToByteArray();
                        break;
                    default:
                        input.SkipLastField();
                        break;
                }
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new FormatException($"malformed {what} protobuf", ex);
        }
        if (type is null || data is null) throw new FormatException($"{what} protobuf lacks Type or Data");
        return (type.Value, data);
    }
}
