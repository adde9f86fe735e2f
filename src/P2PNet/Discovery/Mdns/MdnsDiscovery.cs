using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;

namespace P2PNet.Discovery.Mdns;

/// <summary>
/// libp2p mDNS discovery (specs/discovery/mdns.md), compatible with js-libp2p's <c>@libp2p/mdns</c>: on each
/// selected interface it joins 224.0.0.251:5353 (IPv4) and [ff02::fb]:5353 (IPv6, unless <see cref="MdnsOptions.IPv6"/>
/// is off), each family the interface has, so an interface with only IPv6 is used too. It queries PTR
/// <c>_p2p._udp.local</c> at start and every <see cref="MdnsOptions.QueryInterval"/>, announces itself at start,
/// answers queries for the service (at most once a second per interface, RFC 6762 §6; on both families), and
/// reports the peers in responses. IPv6 link-local addresses are neither announced nor reported (a multiaddr has
/// no zone: see <see cref="DiscoveryInterface.IsDialable"/>). Datagrams are rate limited
/// before decoding; ones arriving on an interface that is not selected are ignored.
/// </summary>
public sealed class MdnsDiscovery : DatagramDiscovery
{
    /// <summary>Creates the component; <see cref="DatagramDiscovery.StartAsync"/> starts it.</summary>
    public MdnsDiscovery(MdnsOptions? options = null, ILoggerFactory? loggerFactory = null)
        : base(DiscoverySources.Mdns, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MdnsDiscovery>())
    {
        Options = options ?? new MdnsOptions();
    }

    /// <summary>The settings.</summary>
    public MdnsOptions Options { get; }

    /// <summary>Our DNS-SD instance label while running.</summary>
    public string? PeerName => (CurrentRun as MdnsRun)?.PeerName;

    /// <summary>Sends a query now (also done at start and every interval).</summary>
    public void QueryNow() => (CurrentRun as MdnsRun)?.Query();

    private protected override DatagramDiscoveryRun CreateRun(PeerId self, Func<IReadOnlyList<Multiaddr>> addresses, Action<DiscoveredPeer> report) =>
        new MdnsRun(Options, self, addresses, DiscoveryInterface.SelectMulticast(Options.Interface, Options.IPv6),
            Options.PeerName ?? MdnsRecords.NewPeerName(), report, Logger);

    private protected override void LogStarted(DatagramDiscoveryRun run) =>
        MdnsLog.Started(Logger, Options.ServiceName, ((MdnsRun)run).PeerName, string.Join("; ", run.Interfaces));
}
