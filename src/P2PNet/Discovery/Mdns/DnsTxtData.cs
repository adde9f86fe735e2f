namespace P2PNet.Discovery.Mdns;

/// <summary>TXT data: a list of character strings (UTF-8, each at most 255 bytes).</summary>
internal sealed class DnsTxtData : DnsRecordData
{
    /// <summary>Creates TXT data.</summary>
    public DnsTxtData(IEnumerable<string> strings) => Strings = strings.ToArray();

    /// <summary>The strings, in wire order.</summary>
    public IReadOnlyList<string> Strings { get; }

    /// <inheritdoc/>
    public override DnsRecordType RecordType => DnsRecordType.TXT;
}
