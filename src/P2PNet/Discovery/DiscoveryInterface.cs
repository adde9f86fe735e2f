using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using P2PNet.Core;

namespace P2PNet.Discovery;

/// <summary>A network interface discovery announces on and listens to, with its addresses.</summary>
/// <param name="Name">The interface name (e.g. <c>eth0</c>, <c>lo</c>).</param>
/// <param name="Index">The IPv4 interface index (for multicast), or -1.</param>
/// <param name="IPv4">Its IPv4 addresses with their subnet broadcast addresses.</param>
/// <param name="IPv6">Its IPv6 addresses.</param>
/// <param name="IsLoopback">True for the loopback interface.</param>
/// <param name="IPv6Index">The IPv6 interface index (for IPv6 multicast), or -1. On Linux it is the same number as <paramref name="Index"/>.</param>
/// <remarks>
/// mDNS uses an interface that <see cref="SupportsIPv4"/> or <see cref="SupportsIPv6"/> (each family where it can);
/// LAN broadcast is IPv4 only (IPv6 has no broadcast) and uses only those that <see cref="SupportsIPv4"/>.
/// </remarks>
public sealed record DiscoveryInterface(string Name, int Index, IReadOnlyList<(IPAddress Address, IPAddress Broadcast)> IPv4,
    IReadOnlyList<IPAddress> IPv6, bool IsLoopback, int IPv6Index = -1)
{
    /// <summary>
    /// Every up interface with an IPv4 or IPv6 address (not only the first), or only the one matching
    /// <paramref name="pin"/> (an interface name, or one of its addresses).
    /// </summary>
    /// <exception cref="DiscoveryException">Nothing matched (<see cref="DiscoveryError.NoInterface"/>).</exception>
    public static IReadOnlyList<DiscoveryInterface> Select(string? pin = null)
    {
        var result = new List<DiscoveryInterface>();
        IPAddress? pinAddress = pin is not null && IPAddress.TryParse(pin, out var parsed) ? parsed : null;
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            bool loopback = nic.NetworkInterfaceType == NetworkInterfaceType.Loopback;
            // Linux reports lo as Unknown rather than Up.
            if (nic.OperationalStatus != OperationalStatus.Up && !(loopback && nic.OperationalStatus == OperationalStatus.Unknown)) continue;
            var props = nic.GetIPProperties();
            var v4 = props.UnicastAddresses.Where(u => u.Address.AddressFamily == AddressFamily.InterNetwork)
                .Select(u => (u.Address, Broadcast(u.Address, u.PrefixLength))).ToList();
            var v6 = props.UnicastAddresses.Where(u => u.Address.AddressFamily == AddressFamily.InterNetworkV6).Select(u => u.Address).ToList();
            if (v4.Count == 0 && v6.Count == 0) continue;
            if (pin is not null)
            {
                if (pinAddress is not null)
                {
                    v4 = v4.Where(a => a.Address.Equals(pinAddress)).ToList();
                    v6 = v6.Where(a => a.Equals(pinAddress)).ToList();
                    if (v4.Count == 0 && v6.Count == 0) continue;
                }
                else if (!string.Equals(nic.Name, pin, StringComparison.Ordinal)) continue;
            }
            int index = -1, index6 = -1;
            try
            {
                index = props.GetIPv4Properties()?.Index ?? -1;
            }
            catch (NetworkInformationException)
            {
                // no IPv4 on this interface
            }
            try
            {
                index6 = props.GetIPv6Properties()?.Index ?? -1;
            }
            catch (NetworkInformationException)
            {
                // no IPv6 on this interface
            }
            result.Add(new DiscoveryInterface(nic.Name, index, v4, v6, loopback, index6));
        }
        if (result.Count == 0)
            throw new DiscoveryException(DiscoveryError.NoInterface, pin is null ? "no up interface with an IP address" : $"no up interface matches '{pin}'");
        return result;
    }

    /// <summary>True when IPv4 multicast and subnet broadcast can use it: it has an IPv4 address and an IPv4 index.</summary>
    public bool SupportsIPv4 => IPv4.Count > 0 && Index >= 0;

    /// <summary>
    /// True when IPv6 multicast can use it: it has an IPv6 address and an IPv6 index, and it is not Linux's loopback
    /// (Linux delivers no IPv6 multicast on <c>lo</c>: a join works but nothing sent there is received, and without
    /// a route every send fails).
    /// </summary>
    public bool SupportsIPv6 => IPv6.Count > 0 && IPv6Index >= 0 && !(IsLoopback && OperatingSystem.IsLinux());

    /// <summary>The interfaces <see cref="Select"/> gives that <see cref="SupportsIPv4"/> (LAN broadcast).</summary>
    /// <exception cref="DiscoveryException">None (<see cref="DiscoveryError.NoInterface"/>).</exception>
    internal static List<DiscoveryInterface> SelectIPv4(string? pin)
    {
        var interfaces = Select(pin).Where(i => i.SupportsIPv4).ToList();
        if (interfaces.Count == 0) throw new DiscoveryException(DiscoveryError.NoInterface, "no selected interface has an IPv4 address");
        return interfaces;
    }

    /// <summary>
    /// The interfaces <see cref="Select"/> gives that <see cref="SupportsIPv4"/>, or (with <paramref name="ipv6"/>)
    /// <see cref="SupportsIPv6"/> (mDNS).
    /// </summary>
    /// <exception cref="DiscoveryException">None (<see cref="DiscoveryError.NoInterface"/>).</exception>
    internal static List<DiscoveryInterface> SelectMulticast(string? pin, bool ipv6)
    {
        var interfaces = Select(pin).Where(i => i.SupportsIPv4 || (ipv6 && i.SupportsIPv6)).ToList();
        if (interfaces.Count == 0)
            throw new DiscoveryException(DiscoveryError.NoInterface, ipv6 ? "no selected interface has an IPv4 or IPv6 address" : "no selected interface has an IPv4 address");
        return interfaces;
    }

    /// <summary>
    /// The addresses worth announcing on this interface: loopback addresses mean nothing to another host (it would
    /// dial itself), so only a loopback interface hears of them; IPv6 link-local addresses (fe80::/10) are never
    /// announced, since a multiaddr has no zone to say which link they are on (see <see cref="IsDialable"/>).
    /// </summary>
    public IEnumerable<Multiaddr> Announceable(IEnumerable<Multiaddr> addresses) =>
        addresses.Where(a => IsDialable(a) && (IsLoopback || a.ToIPEndPoint() is not { } ep || !IPAddress.IsLoopback(ep.Address)));

    /// <summary>
    /// True for a TCP address that can be dialed as it stands: not an IPv6 link-local one (<c>/ip6/fe80::…</c>
    /// carries no zone, so which interface to dial it on is unknown).
    /// </summary>
    public static bool IsDialable(Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.TcpTarget is not null && address.ToIPEndPoint() is not { Address.IsIPv6LinkLocal: true };
    }

    private static IPAddress Broadcast(IPAddress address, int prefixLength)
    {
        uint ip = BitConverter.ToUInt32(address.GetAddressBytes().Reverse().ToArray());
        uint mask = prefixLength <= 0 ? 0 : uint.MaxValue << (32 - Math.Min(prefixLength, 32));
        uint broadcast = ip | ~mask;
        return new IPAddress(BitConverter.GetBytes(broadcast).Reverse().ToArray());
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Name} (index {(Index >= 0 ? Index : IPv6Index)}; {string.Join(", ", IPv4.Select(a => $"{a.Address} bcast {a.Broadcast}").Concat(IPv6.Select(a => a.ToString())))})";
}
