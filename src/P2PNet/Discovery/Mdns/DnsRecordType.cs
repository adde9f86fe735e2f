namespace P2PNet.Discovery.Mdns;

/// <summary>DNS resource record types used by mDNS discovery (other values are carried as raw data).</summary>
internal enum DnsRecordType : ushort
{
    /// <summary>IPv4 host address.</summary>
    A = 1,

    /// <summary>Domain name pointer (service instance enumeration).</summary>
    PTR = 12,

    /// <summary>Text strings (libp2p puts <c>dnsaddr=&lt;multiaddr&gt;</c> here).</summary>
    TXT = 16,

    /// <summary>IPv6 host address.</summary>
    AAAA = 28,

    /// <summary>Service location.</summary>
    SRV = 33,

    /// <summary>Any type (questions only).</summary>
    ANY = 255,
}
