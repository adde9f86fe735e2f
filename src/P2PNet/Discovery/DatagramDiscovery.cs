using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Discovery;

/// <summary>
/// What the datagram discovery mechanisms (<see cref="Mdns.MdnsDiscovery"/>, <see cref="LanBroadcast.LanBroadcastDiscovery"/>)
/// share: start, stop and dispose at any time and in any order, one run at a time (its interfaces chosen and its
/// sockets opened afresh at each start), the interfaces in use and the datagrams dropped.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "SemaphoreSlim holds no kernel handle unless AvailableWaitHandle is used; Stop stays callable after disposal.")]
public abstract class DatagramDiscovery : IPeerDiscovery
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DatagramDiscoveryRun? _run;
    private int _disposed;

    private protected DatagramDiscovery(string source, ILogger logger)
    {
        Source = source;
        Logger = logger;
    }

    /// <inheritdoc />
    public string Source { get; }

    /// <inheritdoc />
    public bool IsRunning => CurrentRun is not null;

    /// <summary>The interfaces in use while running (chosen at start).</summary>
    public IReadOnlyList<DiscoveryInterface> Interfaces => CurrentRun?.Interfaces ?? [];

    /// <summary>Datagrams dropped since start (malformed, rate limited, from an unselected interface, or announcing nothing usable).</summary>
    public long Dropped => CurrentRun?.Dropped ?? 0;

    /// <inheritdoc />
    public event EventHandler<DiscoveredPeer>? PeerDiscovered;

    private protected ILogger Logger { get; }

    private protected DatagramDiscoveryRun? CurrentRun => Volatile.Read(ref _run);

    /// <summary>Chooses the interfaces and makes the run of one start (not opened yet).</summary>
    private protected abstract DatagramDiscoveryRun CreateRun(PeerId self, Func<IReadOnlyList<Multiaddr>> addresses, Action<DiscoveredPeer> report);

    /// <summary>Logs where a run that opened is about to run.</summary>
    private protected abstract void LogStarted(DatagramDiscoveryRun run);

    /// <inheritdoc />
    public async Task StartAsync(PeerId localPeer, Func<IReadOnlyList<Multiaddr>> listenAddresses, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(localPeer);
        ArgumentNullException.ThrowIfNull(listenAddresses);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_run is not null) return;
            var run = CreateRun(localPeer, listenAddresses, p => PeerDiscovered?.Invoke(this, p));
            try
            {
                run.Open();
            }
            catch (SocketException ex)
            {
                run.Dispose();
                throw new DiscoveryException(DiscoveryError.SocketFailed, $"{Source}: {ex.Message}", ex);
            }
            catch
            {
                run.Dispose();
                throw;
            }
            LogStarted(run);
            run.Begin();
            Volatile.Write(ref _run, run);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_run is not { } run) return;
            Volatile.Write(ref _run, null);
            await run.StopAsync().ConfigureAwait(false);
            DiscoveryLog.Stopped(Logger, Source);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await StopAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }
}
