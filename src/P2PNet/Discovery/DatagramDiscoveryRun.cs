using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace P2PNet.Discovery;

/// <summary>
/// What one start of a UDP discovery mechanism owns: its sockets and loops. It gives every mechanism the same
/// receive loop (datagrams that arrive on an interface that is not selected are dropped, senders are rate limited
/// before anything is decoded, oversized datagrams are dropped, every drop is counted and logged) and the same
/// stop. A subclass opens its sockets, starts its own loops and handles each accepted datagram.
/// </summary>
internal abstract class DatagramDiscoveryRun(string source, IReadOnlyList<DiscoveryInterface> interfaces, Action<DiscoveredPeer> report, ILogger logger)
    : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<int, DiscoveryInterface> _byIndex = ByIndex(interfaces);
    private Task _loops = Task.CompletedTask;
    private long _dropped;

    // Both families' indexes lead to the interface (on Linux they are the same ifindex).
    private static Dictionary<int, DiscoveryInterface> ByIndex(IReadOnlyList<DiscoveryInterface> interfaces)
    {
        var byIndex = new Dictionary<int, DiscoveryInterface>();
        foreach (var nic in interfaces)
        {
            if (nic.Index >= 0) byIndex.TryAdd(nic.Index, nic);
            if (nic.IPv6Index >= 0) byIndex.TryAdd(nic.IPv6Index, nic);
        }
        return byIndex;
    }

    /// <summary>The interfaces chosen at start.</summary>
    public IReadOnlyList<DiscoveryInterface> Interfaces => interfaces;

    /// <summary>Datagrams dropped since start.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Cancelled when the run stops.</summary>
    protected CancellationToken Stopping => _stop.Token;

    /// <summary>The logger of the mechanism.</summary>
    protected ILogger Logger => logger;

    /// <summary>Opens the sockets; throws <see cref="SocketException"/> or <see cref="DiscoveryException"/> when it cannot.</summary>
    public abstract void Open();

    /// <summary>Starts the loops <see cref="Loops"/> makes.</summary>
    public void Begin() => _loops = Task.WhenAll(Loops());

    /// <summary>The run's loops (each started with <see cref="Task.Run(Func{Task})"/>), stopped by <see cref="Stopping"/>.</summary>
    protected abstract IEnumerable<Task> Loops();

    /// <summary>Disposes the sockets.</summary>
    protected abstract void CloseSockets();

    /// <summary>Handles one datagram that passed the interface, rate and size checks.</summary>
    protected abstract void Handle(ReadOnlySpan<byte> datagram, DiscoveryInterface nic, IPEndPoint from);

    /// <summary>
    /// Receives on <paramref name="socket"/> (IPv4 or IPv6, which must have <see cref="SocketOptionName.PacketInformation"/>
    /// on) until the run stops: checks, then <see cref="Handle"/>.
    /// </summary>
    protected async Task ReceiveLoopAsync(Socket socket, int maxLength, AnnouncementRateLimiter limiter)
    {
        var buffer = new byte[maxLength + 1]; // one more: a datagram that fills it is too long
        var any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveMessageFromResult received;
            try
            {
                received = await socket.ReceiveMessageFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                DiscoveryLog.Ignored(logger, source, any, "receive failed: " + ex.Message);
                continue;
            }
            var from = (IPEndPoint)received.RemoteEndPoint;
            if (!_byIndex.TryGetValue(received.PacketInformation.Interface, out var nic)) { Drop(from, "arrived on an interface that is not selected"); continue; }
            if (!limiter.Allow(from.Address))
            {
                Interlocked.Increment(ref _dropped);
                DiscoveryLog.RateLimited(logger, source, from.Address);
                continue;
            }
            if (received.ReceivedBytes > maxLength) { Drop(from, "datagram too long"); continue; }
            Handle(buffer.AsSpan(0, received.ReceivedBytes), nic, from);
        }
    }

    /// <summary>Counts and logs a dropped datagram.</summary>
    protected void Drop(IPEndPoint from, string reason)
    {
        Interlocked.Increment(ref _dropped);
        DiscoveryLog.Ignored(logger, source, from, reason);
    }

    /// <summary>Raises PeerDiscovered; a throwing handler is logged, never the end of the loop.</summary>
    protected void Report(DiscoveredPeer peer)
    {
        try
        {
            report(peer);
        }
        catch (Exception ex)
        {
            DiscoveryLog.HandlerFailed(logger, source, ex.Message);
        }
    }

    /// <summary>Stops the loops and closes the sockets.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        CloseSockets();
        try
        {
            await _loops.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        _stop.Dispose();
    }

    /// <summary>Closes the sockets of a run that never began.</summary>
    public void Dispose()
    {
        CloseSockets();
        _stop.Dispose();
    }
}
