using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;

namespace P2PNet.Discovery.LanBroadcast;

/// <summary>
/// P2PNet-style LAN discovery: every <see cref="LanBroadcastOptions.AnnounceInterval"/> it sends a
/// <see cref="LanAnnouncement"/> (PeerId, listen addresses, network name) to the subnet broadcast address of
/// each selected IPv4 interface and to an IPv4 multicast group (TTL 1: never routed off the link), and reports
/// announcements of other nodes of the same network name. Datagrams are rate limited per sender and in total
/// before decoding; ones arriving on an interface that is not selected are ignored. Start and stop may be
/// called at any time.
/// </summary>
public sealed class LanBroadcastDiscovery : DatagramDiscovery
{
    /// <summary>Creates the component; <see cref="DatagramDiscovery.StartAsync"/> starts it.</summary>
    public LanBroadcastDiscovery(LanBroadcastOptions? options = null, ILoggerFactory? loggerFactory = null)
        : base(DiscoverySources.Broadcast, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<LanBroadcastDiscovery>())
    {
        Options = options ?? new LanBroadcastOptions();
    }

    /// <summary>The settings.</summary>
    public LanBroadcastOptions Options { get; }

    /// <summary>Sends an announcement now (also done every interval).</summary>
    public void AnnounceNow() => (CurrentRun as LanBroadcastRun)?.Announce();

    private protected override DatagramDiscoveryRun CreateRun(PeerId self, Func<IReadOnlyList<Multiaddr>> addresses, Action<DiscoveredPeer> report) =>
        new LanBroadcastRun(Options, self, addresses, DiscoveryInterface.SelectIPv4(Options.Interface), report, Logger);

    private protected override void LogStarted(DatagramDiscoveryRun run) =>
        LanBroadcastLog.Started(Logger, Options.Port, string.Join("; ", run.Interfaces));
}
