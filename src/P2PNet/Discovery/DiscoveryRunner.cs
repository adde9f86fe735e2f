using System.Net.Sockets;

namespace P2PNet.Discovery;

/// <summary>
/// Start, stop and dispose of a discovery mechanism, at any time and in any order: one run at a time, made by
/// the mechanism at each start, serialized by a gate.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "SemaphoreSlim holds no kernel handle unless AvailableWaitHandle is used; Stop stays callable after disposal.")]
internal sealed class DiscoveryRunner<TRun>(string source) where TRun : DatagramDiscoveryRun
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private TRun? _run;
    private int _disposed;

    /// <summary>The current run, or null when stopped.</summary>
    public TRun? Current => Volatile.Read(ref _run);

    /// <summary>Makes, opens and begins a run unless one is running; <paramref name="started"/> runs before it begins.</summary>
    public async Task StartAsync(object owner, Func<TRun> create, Action<TRun> started, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, owner);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_run is not null) return;
            var run = create();
            try
            {
                run.Open();
            }
            catch (SocketException ex)
            {
                run.Dispose();
                throw new DiscoveryException(DiscoveryError.SocketFailed, $"{source}: {ex.Message}", ex);
            }
            catch
            {
                run.Dispose();
                throw;
            }
            started(run);
            run.Begin();
            Volatile.Write(ref _run, run);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the current run; true when there was one.</summary>
    public async Task<bool> StopAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_run is not { } run) return false;
            Volatile.Write(ref _run, null);
            await run.StopAsync().ConfigureAwait(false);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Marks the mechanism disposed; true the first time.</summary>
    public bool MarkDisposed() => Interlocked.Exchange(ref _disposed, 1) == 0;
}
