using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using P2PNet.Core;
using P2PNet.Peers;

namespace P2PNet.Hosting;

/// <summary>
/// Runs the container's <see cref="PeerNetwork"/> with the host: starts listening at host start, then connects
/// to <see cref="P2PNetSettings.Peers"/> in the background (each failure logged, none fatal); at host stop it
/// cancels those dials and closes every channel gracefully.
/// </summary>
public sealed class PeerNetworkHostedService : IHostedService, IAsyncDisposable
{
    private readonly PeerNetwork _network;
    private readonly P2PNetSettings _settings;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task _dials = Task.CompletedTask;
    private int _disposed;

    /// <summary>Created by the container (see <see cref="P2PNetServiceCollectionExtensions.AddP2PNet"/>).</summary>
    public PeerNetworkHostedService(PeerNetwork network, IOptions<P2PNetSettings> settings, ILogger<PeerNetworkHostedService> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _network = network ?? throw new ArgumentNullException(nameof(network));
        _settings = settings.Value;
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var peers = _settings.PeerAddresses(); // malformed addresses fail the start, before anything listens
        foreach (var address in await _network.StartAsync(cancellationToken).ConfigureAwait(false))
            HostingLog.Listening(_logger, _network.Identifier, address.WithPeerId(_network.Identifier));
        if (peers.Count > 0) _dials = Task.WhenAll(peers.Select(p => ConnectAsync(p, _stopping.Token)));
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) == 0) await _stopping.CancelAsync().ConfigureAwait(false);
        await _dials.ConfigureAwait(false);
        await _network.StopAsync(cancellationToken).ConfigureAwait(false);
        HostingLog.Stopped(_logger, _network.Identifier);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _dials.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task ConnectAsync(Multiaddr address, CancellationToken cancellationToken)
    {
        try
        {
            await _network.ConnectAsync(address, cancellationToken).ConfigureAwait(false);
            HostingLog.Connected(_logger, address);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or InvalidOperationException or OperationCanceledException)
        {
            HostingLog.ConnectFailed(_logger, address, ex.Message);
        }
    }
}
