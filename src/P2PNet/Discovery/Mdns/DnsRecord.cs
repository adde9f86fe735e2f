namespace P2PNet.Discovery.Mdns;

/// <summary>One resource record (answer, authority or additional section).</summary>
internal sealed class DnsRecord
{
    /// <summary>Creates a record; its type is taken from <paramref name="data"/>.</summary>
    public DnsRecord(string name, DnsRecordData data, uint ttl, ushort @class = DnsQuestion.ClassIn, bool cacheFlush = false)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        Data = data ?? throw new ArgumentNullException(nameof(data));
        Ttl = ttl;
        Class = (ushort)(@class & 0x7FFF);
        CacheFlush = cacheFlush;
    }

    /// <summary>The owner name, dotted, without a trailing dot.</summary>
    public string Name { get; }

    /// <summary>The record type (from <see cref="Data"/>).</summary>
    public DnsRecordType Type => Data.RecordType;

    /// <summary>The class (15 bits; the top bit is <see cref="CacheFlush"/>).</summary>
    public ushort Class { get; }

    /// <summary>mDNS cache-flush bit (RFC 6762 §10.2).</summary>
    public bool CacheFlush { get; }

    /// <summary>Time to live in seconds.</summary>
    public uint Ttl { get; }

    /// <summary>The typed record data.</summary>
    public DnsRecordData Data { get; }
}
