using Google.Protobuf;
using P2PNet.Core;

namespace P2PNet.Protocols.Relay;

// Protobuf pieces shared by HopMessage and StopMessage, hand-written over Google.Protobuf's primitives like
// Identify's. Decoding is strict about the fields it knows (a wrong wire type is malformed), skips unknown ones,
// drops addresses it cannot parse and caps their number.
internal static class RelayCodec
{
    // More addresses than any honest peer or relay sends; the message size cap bounds them anyway.
    public const int MaxAddresses = 32;

    public delegate bool FieldReader(CodedInputStream input, int field, WireFormat.WireType wire);

    public static byte[] Encode(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        using (var output = new CodedOutputStream(ms, leaveOpen: true))
        {
            write(output);
            output.Flush();
        }
        return ms.ToArray();
    }

    public static void WriteEnum(CodedOutputStream o, int field, int value)
    {
        o.WriteTag(field, WireFormat.WireType.Varint);
        o.WriteEnum(value);
    }

    public static void WriteUInt64(CodedOutputStream o, int field, ulong value)
    {
        o.WriteTag(field, WireFormat.WireType.Varint);
        o.WriteUInt64(value);
    }

    public static void WriteMessage(CodedOutputStream o, int field, byte[] body)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(UnsafeByteOperations.UnsafeWrap(body));
    }

    public static RelayException Malformed(string message, Exception? inner = null) =>
        new(RelayError.Malformed, message, inner: inner);

    /// <summary>Runs <paramref name="read"/> for each field; it returns false for a field it does not know (skipped).</summary>
    public static void Decode(ReadOnlySpan<byte> encoded, string what, FieldReader read)
    {
        if (encoded.Length > RelayProtocol.MaxMessageLength)
            throw new RelayException(RelayError.MessageTooLong, $"{what} of {encoded.Length} bytes exceeds {RelayProtocol.MaxMessageLength}");
        try
        {
            var input = new CodedInputStream(encoded.ToArray());
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                if (!read(input, WireFormat.GetTagFieldNumber(tag), WireFormat.GetTagWireType(tag))) input.SkipLastField();
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw Malformed($"malformed {what}: {ex.Message}", ex);
        }
        catch (FormatException ex)
        {
            throw Malformed($"malformed {what}: {ex.Message}", ex);
        }
    }

    public static int ReadEnum(CodedInputStream input, WireFormat.WireType wire)
    {
        RequireWireType(wire, WireFormat.WireType.Varint);
        return input.ReadEnum();
    }

    public static ulong ReadUInt64(CodedInputStream input, WireFormat.WireType wire)
    {
        RequireWireType(wire, WireFormat.WireType.Varint);
        return input.ReadUInt64();
    }

    public static byte[] ReadMessage(CodedInputStream input, WireFormat.WireType wire)
    {
        RequireWireType(wire, WireFormat.WireType.LengthDelimited);
        return input.ReadBytes().ToByteArray();
    }

    private static void RequireWireType(WireFormat.WireType wire, WireFormat.WireType expected)
    {
        if (wire != expected) throw Malformed($"a field has wire type {wire}, not {expected}");
    }

    public static byte[] EncodePeer(RelayPeer peer) => Encode(o =>
    {
        WriteMessage(o, 1, peer.Id.Bytes.ToArray());
        foreach (var a in peer.Addrs) WriteMessage(o, 2, a.ToBytes());
    });

    public static RelayPeer DecodePeer(byte[] encoded)
    {
        PeerId? id = null;
        var addrs = new List<Multiaddr>();
        Decode(encoded, "peer", (input, field, wire) =>
        {
            switch (field)
            {
                case 1: id = PeerId.FromBytes(ReadMessage(input, wire)); return true;
                case 2: AddAddress(addrs, ReadMessage(input, wire)); return true;
                default: return false;
            }
        });
        return new RelayPeer(id ?? throw Malformed("peer without an id"), addrs);
    }

    public static byte[] EncodeReservation(ReservationMessage r) => Encode(o =>
    {
        WriteUInt64(o, 1, r.Expire);
        foreach (var a in r.Addrs) WriteMessage(o, 2, a.ToBytes());
        if (r.Voucher is not null) WriteMessage(o, 3, r.Voucher);
    });

    public static ReservationMessage DecodeReservation(byte[] encoded)
    {
        ulong? expire = null;
        byte[]? voucher = null;
        var addrs = new List<Multiaddr>();
        Decode(encoded, "reservation", (input, field, wire) =>
        {
            switch (field)
            {
                case 1: expire = ReadUInt64(input, wire); return true;
                case 2: AddAddress(addrs, ReadMessage(input, wire)); return true;
                case 3: voucher = ReadMessage(input, wire); return true;
                default: return false;
            }
        });
        return new ReservationMessage(expire ?? throw Malformed("reservation without an expiry"), addrs, voucher);
    }

    public static byte[] EncodeLimit(RelayLimit limit) => Encode(o =>
    {
        if (limit.Duration is { } d)
        {
            o.WriteTag(1, WireFormat.WireType.Varint);
            o.WriteUInt32((uint)Math.Clamp(Math.Ceiling(d.TotalSeconds), 1, uint.MaxValue));
        }
        if (limit.Data is { } b) WriteUInt64(o, 2, b);
    });

    public static RelayLimit DecodeLimit(byte[] encoded)
    {
        TimeSpan? duration = null;
        ulong? data = null;
        Decode(encoded, "limit", (input, field, wire) =>
        {
            switch (field)
            {
                case 1:
                    RequireWireType(wire, WireFormat.WireType.Varint);
                    uint seconds = input.ReadUInt32();
                    duration = seconds == 0 ? null : TimeSpan.FromSeconds(seconds);
                    return true;
                case 2:
                    ulong bytes = ReadUInt64(input, wire);
                    data = bytes == 0 ? null : bytes;
                    return true;
                default: return false;
            }
        });
        return new RelayLimit(duration, data);
    }

    // Peers advertise transports we may not know: such addresses are dropped, not fatal.
    private static void AddAddress(List<Multiaddr> addrs, byte[] bytes)
    {
        if (addrs.Count >= MaxAddresses) return;
        try
        {
            addrs.Add(Multiaddr.FromBytes(bytes));
        }
        catch (FormatException)
        {
        }
    }
}
