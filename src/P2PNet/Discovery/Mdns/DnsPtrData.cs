namespace P2PNet.Discovery.Mdns;

/// <summary>PTR data: the name pointed to (e.g. a service instance name).</summary>
internal sealed class DnsPtrData : DnsRecordData
{
    /// <summary>Creates PTR data.</summary>
    public DnsPtrData(string target) => Target = target ?? throw new ArgumentNullException(nameof(target));

    /// <summary>The target name, dotted, without a trailing dot.</summary>
    public string Target { get; }

    /// <inheritdoc/>
    public override DnsRecordType RecordType => DnsRecordType.PTR;
}
