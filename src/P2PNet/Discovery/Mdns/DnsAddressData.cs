using System.Net;
using System.Net.Sockets;

namespace P2PNet.Discovery.Mdns;

/// <summary>A or AAAA data: an IPv4 or IPv6 address (the family picks the record type).</summary>
internal sealed class DnsAddressData : DnsRecordData
{
    /// <summary>Creates address data.</summary>
    public DnsAddressData(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException("Only IPv4 and IPv6 addresses are supported.", nameof(address));
        }

        Address = address;
    }

    /// <summary>The address.</summary>
    public IPAddress Address { get; }

    /// <inheritdoc/>
    public override DnsRecordType RecordType =>
        Address.AddressFamily == AddressFamily.InterNetwork ? DnsRecordType.A : DnsRecordType.AAAA;
}
