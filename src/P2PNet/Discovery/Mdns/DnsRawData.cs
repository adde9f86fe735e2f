namespace P2PNet.Discovery.Mdns;

/// <summary>Data of a record type this codec does not interpret, kept as raw bytes.</summary>
internal sealed class DnsRawData : DnsRecordData
{
    /// <summary>Creates raw data for the given type.</summary>
    public DnsRawData(DnsRecordType type, ReadOnlySpan<byte> data)
    {
        Type = type;
        Data = data.ToArray();
    }

    /// <summary>The record type as found on the wire.</summary>
    public DnsRecordType Type { get; }

    /// <summary>The raw RDATA bytes.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <inheritdoc/>
    public override DnsRecordType RecordType => Type;
}
