using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace P2PNet.Discovery.Mdns;

/// <summary>
/// Encodes and decodes DNS messages (RFC 1035) with the mDNS class bits (RFC 6762). Decoding is bounded by the
/// limits below, all checked before anything is allocated, so hostile input costs at most a few kilobytes.
/// </summary>
internal static class DnsCodec
{
    /// <summary>Largest message accepted or produced (RFC 6762 §17: 9000 bytes).</summary>
    public const int MaxMessageSize = 9000;

    /// <summary>Most entries in any one section.</summary>
    public const int MaxRecordsPerSection = 64;

    /// <summary>Most resource records (answer + authority + additional) in one message.</summary>
    public const int MaxTotalRecords = 128;

    /// <summary>Most strings in one TXT record.</summary>
    public const int MaxTxtStrings = 64;

    /// <summary>Longest label in bytes.</summary>
    public const int MaxLabelLength = 63;

    /// <summary>Longest name in bytes on the wire (length bytes and the terminating zero included).</summary>
    public const int MaxNameLength = 255;

    /// <summary>Most compression pointers followed while reading one name.</summary>
    public const int MaxPointerHops = 32;

    /// <summary>Length of the fixed header.</summary>
    public const int HeaderSize = 12;

    private const int MinQuestionSize = 5;  // root name + type + class
    private const int MinRecordSize = 11;   // root name + type + class + ttl + rdlength
    private const int MaxCompressionOffset = 0x3FFF;

    // ---------------------------------------------------------------- encoding

    /// <summary>Encodes <paramref name="message"/>, compressing repeated name suffixes.</summary>
    /// <exception cref="DnsFormatException">A name is invalid, or a limit would be exceeded.</exception>
    public static byte[] Encode(DnsMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        int total = message.Answers.Count + message.Authorities.Count + message.Additionals.Count;
        if (message.Questions.Count > MaxRecordsPerSection || message.Answers.Count > MaxRecordsPerSection
            || message.Authorities.Count > MaxRecordsPerSection || message.Additionals.Count > MaxRecordsPerSection
            || total > MaxTotalRecords)
        {
            throw new DnsFormatException(DnsFormatError.TooManyRecords, "Too many entries in a DNS message.");
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxMessageSize);
        try
        {
            var w = new Writer(buffer.AsSpan(0, MaxMessageSize));
            w.U16(message.Id);
            w.U16(message.Flags);
            w.U16((ushort)message.Questions.Count);
            w.U16((ushort)message.Answers.Count);
            w.U16((ushort)message.Authorities.Count);
            w.U16((ushort)message.Additionals.Count);
            var offsets = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var q in message.Questions)
            {
                WriteName(ref w, q.Name, offsets);
                w.U16((ushort)q.Type);
                w.U16((ushort)(q.Class | (q.UnicastResponse ? 0x8000 : 0)));
            }

            foreach (var section in (ReadOnlySpan<List<DnsRecord>>)[message.Answers, message.Authorities, message.Additionals])
            {
                foreach (var r in section)
                {
                    WriteRecord(ref w, r, offsets);
                }
            }

            return w.Written.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void WriteRecord(ref Writer w, DnsRecord r, Dictionary<string, int> offsets)
    {
        WriteName(ref w, r.Name, offsets);
        w.U16((ushort)r.Type);
        w.U16((ushort)(r.Class | (r.CacheFlush ? 0x8000 : 0)));
        w.U32(r.Ttl);
        int lengthAt = w.Position;
        w.U16(0);
        int start = w.Position;
        switch (r.Data)
        {
            case DnsPtrData ptr:
                WriteName(ref w, ptr.Target, offsets);
                break;
            case DnsTxtData txt:
                if (txt.Strings.Count > MaxTxtStrings)
                {
                    throw new DnsFormatException(DnsFormatError.TooManyTxtStrings, "Too many TXT strings.");
                }

                foreach (string s in txt.Strings)
                {
                    int n = Encoding.UTF8.GetByteCount(s);
                    if (n > byte.MaxValue)
                    {
                        throw new DnsFormatException(DnsFormatError.TooManyTxtStrings, "TXT string longer than 255 bytes.");
                    }

                    w.U8((byte)n);
                    Encoding.UTF8.GetBytes(s, w.Take(n));
                }

                break;
            case DnsAddressData addr:
                Span<byte> ip = stackalloc byte[16];
                addr.Address.TryWriteBytes(ip, out int ipLength);
                ip[..ipLength].CopyTo(w.Take(ipLength));
                break;
            case DnsSrvData srv:
                w.U16(srv.Priority);
                w.U16(srv.Weight);
                w.U16(srv.Port);
                WriteName(ref w, srv.Target, offsets: null); // RFC 2782: SRV targets are not compressed
                break;
            case DnsRawData raw:
                raw.Data.Span.CopyTo(w.Take(raw.Data.Length));
                break;
            default:
                throw new DnsFormatException(DnsFormatError.InvalidRecordData, $"Unsupported record data {r.Data.GetType().Name}.");
        }

        w.PatchU16(lengthAt, (ushort)(w.Position - start));
    }

    private static void WriteName(ref Writer w, string name, Dictionary<string, int>? offsets)
    {
        string[] labels = SplitName(name);
        for (int i = 0; i < labels.Length; i++)
        {
            if (offsets is not null)
            {
                string suffix = string.Join('.', labels, i, labels.Length - i);
                if (offsets.TryGetValue(suffix, out int at))
                {
                    w.U16((ushort)(0xC000 | at));
                    return;
                }

                if (w.Position <= MaxCompressionOffset)
                {
                    offsets[suffix] = w.Position;
                }
            }

            int n = Encoding.UTF8.GetByteCount(labels[i]);
            w.U8((byte)n);
            Encoding.UTF8.GetBytes(labels[i], w.Take(n));
        }

        w.U8(0);
    }

    /// <summary>Splits and validates a dotted name (one trailing dot allowed; "" or "." is the root).</summary>
    private static string[] SplitName(string name)
    {
        if (name.EndsWith('.'))
        {
            name = name[..^1];
        }

        if (name.Length == 0)
        {
            return [];
        }

        string[] labels = name.Split('.');
        int wire = 1;
        foreach (string label in labels)
        {
            int n = Encoding.UTF8.GetByteCount(label);
            if (n == 0)
            {
                throw new DnsFormatException(DnsFormatError.InvalidName, $"Empty label in name '{name}'.");
            }

            if (n > MaxLabelLength)
            {
                throw new DnsFormatException(DnsFormatError.LabelTooLong, $"Label of {n} bytes in name '{name}'.");
            }

            wire += 1 + n;
        }

        if (wire > MaxNameLength)
        {
            throw new DnsFormatException(DnsFormatError.NameTooLong, $"Name of {wire} bytes exceeds {MaxNameLength}.");
        }

        return labels;
    }

    private ref struct Writer(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;

        public int Position { get; private set; }

        public readonly ReadOnlySpan<byte> Written => _buffer[..Position];

        public Span<byte> Take(int count)
        {
            if (count > _buffer.Length - Position)
            {
                throw new DnsFormatException(DnsFormatError.MessageTooLarge, $"Encoded message exceeds {MaxMessageSize} bytes.");
            }

            var span = _buffer.Slice(Position, count);
            Position += count;
            return span;
        }

        public void U8(byte value) => Take(1)[0] = value;

        public void U16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Take(2), value);

        public void U32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Take(4), value);

        public readonly void PatchU16(int at, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(_buffer[at..], value);
    }

    // ---------------------------------------------------------------- decoding

    /// <summary>Decodes one DNS message.</summary>
    /// <exception cref="DnsFormatException">The input is malformed or exceeds a limit.</exception>
    public static DnsMessage Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length > MaxMessageSize)
        {
            throw new DnsFormatException(DnsFormatError.MessageTooLarge, $"Message of {data.Length} bytes exceeds {MaxMessageSize}.");
        }

        if (data.Length < HeaderSize)
        {
            throw Truncated("header");
        }

        var message = new DnsMessage
        {
            Id = BinaryPrimitives.ReadUInt16BigEndian(data),
            Flags = BinaryPrimitives.ReadUInt16BigEndian(data[2..]),
        };
        int qd = BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
        int an = BinaryPrimitives.ReadUInt16BigEndian(data[6..]);
        int ns = BinaryPrimitives.ReadUInt16BigEndian(data[8..]);
        int ar = BinaryPrimitives.ReadUInt16BigEndian(data[10..]);
        if (qd > MaxRecordsPerSection || an > MaxRecordsPerSection || ns > MaxRecordsPerSection
            || ar > MaxRecordsPerSection || an + ns + ar > MaxTotalRecords)
        {
            throw new DnsFormatException(DnsFormatError.TooManyRecords, $"Header announces {qd}/{an}/{ns}/{ar} entries.");
        }

        // Cheap sanity check so a tiny packet cannot make us allocate lists for entries it cannot hold.
        if ((qd * MinQuestionSize) + ((an + ns + ar) * MinRecordSize) > data.Length - HeaderSize)
        {
            throw Truncated("sections");
        }

        int pos = HeaderSize;
        message.Questions.Capacity = qd;
        for (int i = 0; i < qd; i++)
        {
            string name = ReadName(data, ref pos);
            if (data.Length - pos < 4)
            {
                throw Truncated("question");
            }

            var type = (DnsRecordType)BinaryPrimitives.ReadUInt16BigEndian(data[pos..]);
            ushort cls = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 2)..]);
            pos += 4;
            message.Questions.Add(new DnsQuestion(name, type, cls, (cls & 0x8000) != 0));
        }

        ReadSection(data, ref pos, an, message.Answers);
        ReadSection(data, ref pos, ns, message.Authorities);
        ReadSection(data, ref pos, ar, message.Additionals);
        return message;
    }

    private static void ReadSection(ReadOnlySpan<byte> data, ref int pos, int count, List<DnsRecord> into)
    {
        into.Capacity = count;
        for (int i = 0; i < count; i++)
        {
            into.Add(ReadRecord(data, ref pos));
        }
    }

    private static DnsRecord ReadRecord(ReadOnlySpan<byte> data, ref int pos)
    {
        string name = ReadName(data, ref pos);
        if (data.Length - pos < 10)
        {
            throw Truncated("record");
        }

        var type = (DnsRecordType)BinaryPrimitives.ReadUInt16BigEndian(data[pos..]);
        ushort cls = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 2)..]);
        uint ttl = BinaryPrimitives.ReadUInt32BigEndian(data[(pos + 4)..]);
        int rdLength = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 8)..]);
        pos += 10;
        if (rdLength > data.Length - pos)
        {
            throw new DnsFormatException(DnsFormatError.RdLengthOverrun, $"RDLENGTH {rdLength} runs past the end of the message.");
        }

        int end = pos + rdLength;
        var rdata = data.Slice(pos, rdLength);
        DnsRecordData payload;
        switch (type)
        {
            case DnsRecordType.A:
            case DnsRecordType.AAAA:
                if (rdLength != (type == DnsRecordType.A ? 4 : 16))
                {
                    throw new DnsFormatException(DnsFormatError.InvalidRecordData, $"{type} record with {rdLength} data bytes.");
                }

                payload = new DnsAddressData(new IPAddress(rdata));
                break;
            case DnsRecordType.PTR:
            {
                int p = pos;
                payload = new DnsPtrData(ReadName(data[..end], ref p));
                ExpectEnd(p, end);
                break;
            }

            case DnsRecordType.SRV:
            {
                if (rdLength < 7)
                {
                    throw new DnsFormatException(DnsFormatError.RdLengthOverrun, "SRV record data too short.");
                }

                int p = pos + 6;
                string target = ReadName(data[..end], ref p);
                ExpectEnd(p, end);
                payload = new DnsSrvData(
                    BinaryPrimitives.ReadUInt16BigEndian(rdata),
                    BinaryPrimitives.ReadUInt16BigEndian(rdata[2..]),
                    BinaryPrimitives.ReadUInt16BigEndian(rdata[4..]),
                    target);
                break;
            }

            case DnsRecordType.TXT:
                payload = new DnsTxtData(ReadTxt(rdata));
                break;
            default:
                payload = new DnsRawData(type, rdata);
                break;
        }

        pos = end;
        return new DnsRecord(name, payload, ttl, cls, (cls & 0x8000) != 0);
    }

    private static void ExpectEnd(int pos, int end)
    {
        if (pos != end)
        {
            throw new DnsFormatException(DnsFormatError.InvalidRecordData, "Record data has trailing bytes after its name.");
        }
    }

    private static List<string> ReadTxt(ReadOnlySpan<byte> rdata)
    {
        var strings = new List<string>();
        int p = 0;
        while (p < rdata.Length)
        {
            if (strings.Count == MaxTxtStrings)
            {
                throw new DnsFormatException(DnsFormatError.TooManyTxtStrings, $"TXT record holds more than {MaxTxtStrings} strings.");
            }

            int n = rdata[p++];
            if (n > rdata.Length - p)
            {
                throw new DnsFormatException(DnsFormatError.RdLengthOverrun, "TXT string runs past RDLENGTH.");
            }

            strings.Add(Encoding.UTF8.GetString(rdata.Slice(p, n)));
            p += n;
        }

        return strings;
    }

    /// <summary>
    /// Reads a possibly compressed name at <paramref name="pos"/> and advances past it. Pointers must point strictly
    /// before themselves and at most <see cref="MaxPointerHops"/> are followed, so every name read is bounded.
    /// </summary>
    private static string ReadName(ReadOnlySpan<byte> data, ref int pos)
    {
        Span<byte> text = stackalloc byte[MaxNameLength];
        int textLength = 0;
        int wire = 1; // the terminating zero
        int hops = 0;
        int p = pos;
        bool jumped = false;
        while (true)
        {
            if (p >= data.Length)
            {
                throw Truncated("name");
            }

            int len = data[p];
            if (len == 0)
            {
                if (!jumped)
                {
                    pos = p + 1;
                }

                break;
            }

            switch (len & 0xC0)
            {
                case 0xC0:
                    if (p + 1 >= data.Length)
                    {
                        throw Truncated("compression pointer");
                    }

                    int target = ((len & 0x3F) << 8) | data[p + 1];
                    if (target >= p)
                    {
                        throw new DnsFormatException(DnsFormatError.ForwardPointer, $"Compression pointer at {p} points to {target}.");
                    }

                    if (++hops > MaxPointerHops)
                    {
                        throw new DnsFormatException(DnsFormatError.CompressionLoop, $"More than {MaxPointerHops} compression pointers in one name.");
                    }

                    if (!jumped)
                    {
                        pos = p + 2;
                        jumped = true;
                    }

                    p = target;
                    continue;
                case 0x00:
                    wire += 1 + len;
                    if (wire > MaxNameLength)
                    {
                        throw new DnsFormatException(DnsFormatError.NameTooLong, $"Name exceeds {MaxNameLength} bytes.");
                    }

                    if (len > data.Length - p - 1)
                    {
                        throw Truncated("label");
                    }

                    var label = data.Slice(p + 1, len);
                    if (label.Contains((byte)'.'))
                    {
                        throw new DnsFormatException(DnsFormatError.InvalidName, "Label contains a dot.");
                    }

                    if (textLength > 0)
                    {
                        text[textLength++] = (byte)'.';
                    }

                    label.CopyTo(text[textLength..]);
                    textLength += len;
                    p += 1 + len;
                    continue;
                default:
                    throw new DnsFormatException(DnsFormatError.LabelTooLong, $"Label length byte 0x{len:X2} is over {MaxLabelLength} (reserved label type).");
            }
        }

        return Encoding.UTF8.GetString(text[..textLength]);
    }

    private static DnsFormatException Truncated(string what) =>
        new(DnsFormatError.Truncated, $"DNS message truncated in {what}.");
}
