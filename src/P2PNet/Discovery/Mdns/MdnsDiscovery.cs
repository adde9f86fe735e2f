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
public sealed class MdnsDiscovery : IPeerDiscovery
{
    private readonly ILogger _logger;
    private readonly DiscoveryRunner<MdnsRun> _runner = new(DiscoverySources.Mdns);

    /// <summary>Creates the component; <see cref="StartAsync"/> starts it.</summary>
    public MdnsDiscovery(MdnsOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        Options = options ?? new MdnsOptions();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MdnsDiscovery>();
    }

    /// <summary>The settings.</summary>
    public MdnsOptions Options { get; }

    /// <inheritdoc />
    public string Source => DiscoverySources.Mdns;

    /// <inheritdoc />
    public bool IsRunning => _runner.Current is not null;

    /// <summary>The interfaces in use while running (chosen at start).</summary>
    public IReadOnlyList<DiscoveryInterface> Interfaces => _runner.Current?.Interfaces ?? [];

    /// <summary>Our DNS-SD instance label while running.</summary>
    public string? PeerName => _runner.Current?.PeerName;

    /// <summary>Datagrams dropped (malformed, rate limited, wrong interface, bad records) since start.</summary>
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
            var interfaces = DiscoveryInterface.SelectMulticast(Options.Interface, Options.IPv6);
            return new MdnsRun(Options, localPeer, listenAddresses, interfaces, Options.PeerName ?? MdnsRecords.NewPeerName(),
                p => PeerDiscovered?.Invoke(this, p), _logger);
        }, run => MdnsLog.Started(_logger, Options.ServiceName, run.PeerName, string.Join("; ", run.Interfaces)), cancellationToken);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (await _runner.StopAsync(cancellationToken).ConfigureAwait(false)) DiscoveryLog.Stopped(_logger, Source);
    }

    /// <summary>Sends a query now (also done at start and every interval).</summary>
    public void QueryNow() => _runner.Current?.Query();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_runner.MarkDisposed()) await StopAsync().ConfigureAwait(false);
    }
}
