using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using P2PNet.Core;

namespace P2PNet.Swarm;

// Admission of inbound connections. The accept loop never waits for a slot: each accepted connection is gated,
// checked against the limits (system, per IP) and either upgraded in its own task or closed at once, so that
// idle sockets from one address cannot lock other peers out.
public sealed partial class SwarmHost
{
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(50);

    private async Task AcceptLoopAsync(ITransportListener listener)
    {
        await Task.Yield();
        var ct = _stopping.Token;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                TransportConnection? raw;
                try
                {
                    raw = await listener.AcceptAsync(ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is SocketException or IOException)
                {
                    // Out of descriptors or buffers (an attack, a burst): keep the listener alive and retry shortly
                    // rather than end the loop and leave the node unreachable.
                    if (_resources.ShouldLog("accept/failed", out int suppressed)) SwarmLog.AcceptFailed(_logger, listener.ListenAddress, ex.Message, suppressed);
                    await Task.Delay(AcceptRetryDelay, ct).ConfigureAwait(false);
                    continue;
                }
                if (raw is null) break;
                if (Admit(raw) is not { } slot)
                {
                    await raw.Stream.DisposeAsync().ConfigureAwait(false);
                    continue;
                }
                var task = UpgradeInboundAsync(raw, slot, ct);
                _pending.TryAdd(task, 0);
                _ = task.ContinueWith(static (t, s) => ((ConcurrentDictionary<Task, byte>)s!).TryRemove(t, out _),
                    _pending, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    // Before any byte is read: the gater, then the connection and handshake limits. Null means close it.
    private ResourceManager.InboundSlot? Admit(TransportConnection raw)
    {
        if (!GaterAllowsAccept(raw))
        {
            _metrics.Refused("accept", "gater");
            if (_resources.ShouldLog("gater/accept", out int suppressed)) SwarmLog.AcceptGated(_logger, raw.RemoteAddress, suppressed);
            return null;
        }
        if (_connections.Count >= Options.MaxConnections)
        {
            _resources.ConnectionLimitHit();
            _metrics.Refused("accept", "limit");
            return null;
        }
        var slot = _resources.TryAdmit(IpOf(raw.RemoteAddress), out _);
        if (slot is null) _metrics.Refused("accept", "limit");
        return slot;
    }

    private static IPAddress? IpOf(Multiaddr address)
    {
        var ip = address.ToIPEndPoint()?.Address;
        return ip is not null && ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;
    }

    private async Task UpgradeInboundAsync(TransportConnection raw, ResourceManager.InboundSlot slot, CancellationToken ct)
    {
        try
        {
            // A hole punch's SYN that reached our listener before our own dial left: we are its client all the same.
            var upgraded = HolePunchClientFor(raw) is { } punched
                ? await UpgradeHolePunchAsync(raw, punched, asClient: true, ct).ConfigureAwait(false)
                : await _metrics.TimeHandshakeAsync(ConnectionDirection.Inbound, () => _upgrader.UpgradeInboundAsync(raw, ct)).ConfigureAwait(false);
            if (AdmitSecured(upgraded) is { } refusal)
            {
                // Telling why holds the handshake slot, so refusals stay bounded like handshakes.
                await RefuseAsync(upgraded, refusal, ct).ConfigureAwait(false);
                return;
            }
            slot.HandshakeEnded(connected: true);
            Register(upgraded, slot);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            // A bad or slow peer loses its connection (the upgrader closed it); the host keeps serving. A flood of
            // them is logged ten lines per interval.
            if (_resources.ShouldLog("handshake/inbound", out int suppressed, burst: 10))
            {
                SwarmLog.HandshakeFailed(_logger, raw.RemoteAddress, ex.Message);
                if (suppressed > 0) SwarmLog.HandshakeFailuresSuppressed(_logger, suppressed);
            }
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            // The host is stopping: the upgrade was cut short or the fresh connection was closed by Register.
        }
        finally
        {
            slot.HandshakeEnded(connected: false); // no-op once the handshake was counted as done
        }
    }
}
