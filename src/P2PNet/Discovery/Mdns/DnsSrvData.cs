namespace P2PNet.Discovery.Mdns;

/// <summary>SRV data: priority, weight, port and target host name.</summary>
internal sealed class DnsSrvData : DnsRecordData
{
    /// <summary>Creates SRV data.</summary>
    public DnsSrvData(ushort priority, ushort weight, ushort port, string target)
    {
        Priority = priority;
        Weight = weight;
        Port = port;
        Target = target ?? throw new ArgumentNullException(nameof(target));
    }

    /// <summary>Priority (lower is preferred).</summary>
    public ushort Priority { get; }

    /// <summary>Relative weight among equal priorities.</summary>
    public ushort Weight { get; }

    /// <summary>The service port.</summary>
    public ushort Port { get; }

    /// <summary>The target host name, dotted, without a trailing dot.</summary>
    public string Target { get; }

    /// <inheritdoc/>
    public override DnsRecordType RecordType => DnsRecordType.SRV;
}
