namespace P2PNet.Discovery.Mdns;

/// <summary>The typed RDATA of a <see cref="DnsRecord"/>; the subtype determines the record type.</summary>
internal abstract class DnsRecordData
{
    /// <summary>The record type this data encodes as.</summary>
    public abstract DnsRecordType RecordType { get; }
}
