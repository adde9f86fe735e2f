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
public sealed class LanBroadcastDiscovery : IPeerDiscovery
{
    private readonly ILogger _logger;
    private readonly DiscoveryRunner<LanBroadcastRun> _runner = new(DiscoverySources.Broadcast);

    /// <summary>Creates the component; <see cref="StartAsync"/> starts it.</summary>
    public LanBroadcastDiscovery(LanBroadcastOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        Options = options ?? new LanBroadcastOptions();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<LanBroadcastDiscovery>();
    }

    /// <summary>The settings.</summary>
    public LanBroadcastOptions Options { get; }

    /// <inheritdoc />
    public string Source => DiscoverySources.Broadcast;

    /// <inheritdoc />
    public bool IsRunning => _runner.Current is not null;

    /// <summary>The interfaces in use while running (chosen at start).</summary>
    public IReadOnlyList<DiscoveryInterface> Interfaces => _runner.Current?.Interfaces ?? [];

    /// <summary>Datagrams dropped (malformed, rate limited, foreign network, wrong interface) since start.</summary>
    public long Dropped => _runner.Current?.Dropped ?? 0;

    /// <inheritdoc />
    public event EventHandler<DiscoveredPeer>? PeerDiscovered;

    /// <inheritdoc />
    public Task StartAsync(PeerId localPeer, Func<IReadOnlyList<Multiaddr>> listenAddresses, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(localPeer);
        ArgumentNullException.ThrowIfNull(listenAddresses);
        return _runner.StartAsync(this, () =>
        {
            var interfaces = DiscoveryInterface.SelectIPv4(Options.Interface);
            return new LanBroadcastRun(Options, localPeer, listenAddresses, interfaces, p => PeerDiscovered?.Invoke(this, p), _logger);
        }, run => LanBroadcastLog.Started(_logger, Options.Port, string.Join("; ", run.Interfaces)), cancellationToken);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (await _runner.StopAsync(cancellationToken).ConfigureAwait(false)) DiscoveryLog.Stopped(_logger, Source);
    }

    /// <summary>Sends an announcement now (also done every interval).</summary>
    public void AnnounceNow() => _runner.Current?.Announce();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_runner.MarkDisposed()) await StopAsync().ConfigureAwait(false);
    }
}
