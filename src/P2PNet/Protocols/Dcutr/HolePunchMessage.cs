using Google.Protobuf;
using P2PNet.Core;

namespace P2PNet.Protocols.Dcutr;

/// <summary>
/// A DCUtR message (<c>holepunch.pb.HolePunch</c>: <c>required Type type = 1; repeated bytes ObsAddrs = 2;</c>).
/// Decoding is strict about the fields it knows, skips unknown ones, drops addresses it cannot parse and keeps at
/// most <see cref="DcutrProtocol.MaxAddresses"/>.
/// </summary>
/// <param name="Type">CONNECT or SYNC.</param>
/// <param name="ObsAddrs">The sender's addresses (CONNECT); empty for SYNC.</param>
public sealed record HolePunchMessage(HolePunchType Type, IReadOnlyList<Multiaddr> ObsAddrs)
{
    /// <summary>The protobuf encoding, without the length prefix.</summary>
    public byte[] ToProtobuf()
    {
        using var ms = new MemoryStream();
        using (var output = new CodedOutputStream(ms, leaveOpen: true))
        {
            output.WriteTag(1, WireFormat.WireType.Varint);
            output.WriteEnum((int)Type);
            foreach (var address in ObsAddrs)
            {
                output.WriteTag(2, WireFormat.WireType.LengthDelimited);
                output.WriteBytes(ByteString.CopyFrom(address.ToBytes()));
            }
            output.Flush();
        }
        return ms.ToArray();
    }

    /// <summary>Decodes a message body (without its length prefix).</summary>
    /// <exception cref="DcutrException">MessageTooLong, or Malformed (bad protobuf, no or unknown type).</exception>
    public static HolePunchMessage FromProtobuf(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > DcutrProtocol.MaxMessageLength)
            throw new DcutrException(DcutrError.MessageTooLong, $"a HolePunch message of {encoded.Length} bytes exceeds {DcutrProtocol.MaxMessageLength}");
        int? type = null;
        var addrs = new List<Multiaddr>();
        try
        {
            var input = new CodedInputStream(encoded.ToArray());
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                int field = WireFormat.GetTagFieldNumber(tag);
                var wire = WireFormat.GetTagWireType(tag);
                switch (field)
                {
                    case 1:
                        Require(wire, WireFormat.WireType.Varint);
                        type = input.ReadEnum();
                        break;
                    case 2:
                        Require(wire, WireFormat.WireType.LengthDelimited);
                        var bytes = input.ReadBytes();
                        if (addrs.Count >= DcutrProtocol.MaxAddresses) break;
                        try
                        {
                            addrs.Add(Multiaddr.FromBytes(bytes.Span));
                        }
                        catch (FormatException)
                        {
                            // A transport we do not know: dropped, not fatal.
                        }
                        break;
                    default:
                        input.SkipLastField();
                        break;
                }
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new DcutrException(DcutrError.Malformed, $"malformed HolePunch message: {ex.Message}", ex);
        }
        if (type is not { } t) throw new DcutrException(DcutrError.Malformed, "a HolePunch message without a type");
        if (t is not ((int)HolePunchType.Connect or (int)HolePunchType.Sync))
            throw new DcutrException(DcutrError.Malformed, $"a HolePunch message of unknown type {t}");
        return new HolePunchMessage((HolePunchType)t, addrs);
    }

    private static void Require(WireFormat.WireType wire, WireFormat.WireType expected)
    {
        if (wire != expected) throw new DcutrException(DcutrError.Malformed, $"a HolePunch field has wire type {wire}, not {expected}");
    }
}
