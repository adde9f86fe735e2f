using Google.Protobuf;

namespace P2PNet.Protocols.AutoNat;

/// <summary>
/// Protobuf (proto3) encoding of the AutoNAT v2 messages, hand-written like Identify's: default values are not
/// written, unknown fields are skipped, a known field with the wrong wire type is <see cref="AutoNatError.Malformed"/>.
/// Callers bound the input (<see cref="AutoNatProtocol.MaxMessageLength"/>) before decoding.
/// </summary>
internal static class AutoNatCodec
{
    private const int DialRequestField = 1;
    private const int DialResponseField = 2;
    private const int DialDataRequestField = 3;
    private const int DialDataResponseField = 4;

    public static byte[] Encode(AutoNatMessage message) => Build(output =>
    {
        switch (message)
        {
            case DialRequest r:
                WriteSub(output, DialRequestField, Build(o =>
                {
                    foreach (byte[] a in r.Addrs)
                    {
                        o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                        o.WriteBytes(ByteString.CopyFrom(a));
                    }
                    if (r.Nonce != 0)
                    {
                        o.WriteTag(2, WireFormat.WireType.Fixed64);
                        o.WriteFixed64(r.Nonce);
                    }
                }));
                break;
            case DialResponse r:
                WriteSub(output, DialResponseField, Build(o =>
                {
                    WriteVarint(o, 1, (ulong)r.Status);
                    WriteVarint(o, 2, r.AddrIdx);
                    WriteVarint(o, 3, (ulong)r.DialStatus);
                }));
                break;
            case DialDataRequest r:
                WriteSub(output, DialDataRequestField, Build(o =>
                {
                    WriteVarint(o, 1, r.AddrIdx);
                    WriteVarint(o, 2, r.NumBytes);
                }));
                break;
            case DialDataResponse r:
                WriteSub(output, DialDataResponseField, Build(o =>
                {
                    if (r.DataLength == 0) return;
                    o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                    o.WriteBytes(UnsafeByteOperations.UnsafeWrap(new byte[r.DataLength]));
                }));
                break;
            default:
                throw new ArgumentException($"not an AutoNAT message: {message?.GetType().Name}", nameof(message));
        }
    });

    /// <summary>Decodes a <c>Message</c>; null when no oneof field is set.</summary>
    public static AutoNatMessage? Decode(ReadOnlySpan<byte> encoded)
    {
        AutoNatMessage? result = null;
        Parse(encoded, "Message", (input, field, wire) =>
        {
            if (field is < DialRequestField or > DialDataResponseField) return false;
            Expect(wire, WireFormat.WireType.LengthDelimited, "Message");
            var body = input.ReadBytes().Span;
            result = field switch
            {
                DialRequestField => DecodeDialRequest(body),
                DialResponseField => DecodeDialResponse(body),
                DialDataRequestField => DecodeDialDataRequest(body),
                _ => DecodeDialDataResponse(body),
            };
            return true;
        });
        return result;
    }

    public static byte[] EncodeDialBack(ulong nonce) => Build(o =>
    {
        if (nonce == 0) return;
        o.WriteTag(1, WireFormat.WireType.Fixed64);
        o.WriteFixed64(nonce);
    });

    public static ulong DecodeDialBack(ReadOnlySpan<byte> encoded)
    {
        ulong nonce = 0;
        Parse(encoded, "DialBack", (input, field, wire) =>
        {
            if (field != 1) return false;
            Expect(wire, WireFormat.WireType.Fixed64, "DialBack.nonce");
            nonce = input.ReadFixed64();
            return true;
        });
        return nonce;
    }

    /// <summary><c>DialBackResponse { status = OK }</c>: OK is 0, so the message is empty.</summary>
    public static byte[] EncodeDialBackResponse() => [];

    public static uint DecodeDialBackResponse(ReadOnlySpan<byte> encoded)
    {
        uint status = 0;
        Parse(encoded, "DialBackResponse", (input, field, wire) =>
        {
            if (field != 1) return false;
            Expect(wire, WireFormat.WireType.Varint, "DialBackResponse.status");
            status = input.ReadUInt32();
            return true;
        });
        return status;
    }

    private static DialRequest DecodeDialRequest(ReadOnlySpan<byte> body)
    {
        var addrs = new List<byte[]>();
        ulong nonce = 0;
        Parse(body, "DialRequest", (input, field, wire) =>
        {
            switch (field)
            {
                case 1:
                    Expect(wire, WireFormat.WireType.LengthDelimited, "DialRequest.addrs");
                    addrs.Add(input.ReadBytes().ToByteArray());
                    return true;
                case 2:
                    Expect(wire, WireFormat.WireType.Fixed64, "DialRequest.nonce");
                    nonce = input.ReadFixed64();
                    return true;
                default:
                    return false;
            }
        });
        return new DialRequest(addrs, nonce);
    }

    private static DialResponse DecodeDialResponse(ReadOnlySpan<byte> body)
    {
        uint status = 0, idx = 0, dial = 0;
        Parse(body, "DialResponse", (input, field, wire) =>
        {
            if (field is < 1 or > 3) return false;
            Expect(wire, WireFormat.WireType.Varint, "DialResponse");
            uint value = input.ReadUInt32();
            if (field == 1) status = value;
            else if (field == 2) idx = value;
            else dial = value;
            return true;
        });
        return new DialResponse((ResponseStatus)status, idx, (DialStatus)dial);
    }

    private static DialDataRequest DecodeDialDataRequest(ReadOnlySpan<byte> body)
    {
        uint idx = 0;
        ulong bytes = 0;
        Parse(body, "DialDataRequest", (input, field, wire) =>
        {
            if (field is < 1 or > 2) return false;
            Expect(wire, WireFormat.WireType.Varint, "DialDataRequest");
            if (field == 1) idx = input.ReadUInt32();
            else bytes = input.ReadUInt64();
            return true;
        });
        return new DialDataRequest(idx, bytes);
    }

    private static DialDataResponse DecodeDialDataResponse(ReadOnlySpan<byte> body)
    {
        int length = 0;
        Parse(body, "DialDataResponse", (input, field, wire) =>
        {
            if (field != 1) return false;
            Expect(wire, WireFormat.WireType.LengthDelimited, "DialDataResponse.data");
            length = input.ReadBytes().Length;
            return true;
        });
        return new DialDataResponse(length);
    }

    // Reads every field; `field` handles the known ones (returning false for the rest, which are skipped).
    private delegate bool FieldReader(CodedInputStream input, int field, WireFormat.WireType wire);

    private static void Parse(ReadOnlySpan<byte> encoded, string what, FieldReader field)
    {
        try
        {
            var input = new CodedInputStream(encoded.ToArray());
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                if (!field(input, WireFormat.GetTagFieldNumber(tag), WireFormat.GetTagWireType(tag))) input.SkipLastField();
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new AutoNatException(AutoNatError.Malformed, $"malformed AutoNAT {what}: {ex.Message}", ex);
        }
    }

    private static void Expect(WireFormat.WireType actual, WireFormat.WireType expected, string what)
    {
        if (actual != expected) throw new AutoNatException(AutoNatError.Malformed, $"AutoNAT {what} has wire type {actual}, not {expected}");
    }

    private static byte[] Build(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer, leaveOpen: true);
        write(output);
        output.Flush();
        return buffer.ToArray();
    }

    private static void WriteSub(CodedOutputStream output, int field, byte[] body)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(UnsafeByteOperations.UnsafeWrap(body));
    }

    private static void WriteVarint(CodedOutputStream output, int field, ulong value)
    {
        if (value == 0) return;
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteUInt64(value);
    }
}
