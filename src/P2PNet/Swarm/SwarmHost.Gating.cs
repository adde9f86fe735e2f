using P2PNet.Core;
using P2PNet.Upgrade;

namespace P2PNet.Swarm;

// The connection gater, transport choice, and refusing an authenticated peer with a reason.
public sealed partial class SwarmHost
{
    private volatile IConnectionGater? _gater;

    /// <summary>
    /// The connection gater asked before dialing, at accept and after the security handshake; null allows
    /// everything. Starts as <see cref="SwarmOptions.Gater"/>; may be replaced at any time (for example by a
    /// layer above that adds its block lists, composing with <see cref="CompositeConnectionGater"/>).
    /// </summary>
    public IConnectionGater? Gater
    {
        get => _gater;
        set => _gater = value;
    }

    /// <summary>The transports, in the order they are asked whether they handle an address.</summary>
    public IReadOnlyList<ITransport> Transports => _transports;

    private ITransport TransportFor(Multiaddr address)
    {
        foreach (var transport in _transports)
            if (transport.CanHandle(address)) return transport;
        throw new ArgumentException($"no transport of this host handles {address}", nameof(address));
    }

    // The gater is user code on the connection path: one that throws refuses (and is logged) rather than ending an
    // accept loop or leaking a half-open connection.
    private bool GaterAllowsDial(PeerId? peer, Multiaddr address) =>
        Gater is not { } gater || AskGater(() => gater.InterceptDial(peer, address), nameof(IConnectionGater.InterceptDial), false);

    private bool GaterAllowsAccept(TransportConnection raw) =>
        Gater is not { } gater || AskGater(() => gater.InterceptAccept(raw.LocalAddress, raw.RemoteAddress), nameof(IConnectionGater.InterceptAccept), false);

    private T AskGater<T>(Func<T> ask, string what, T onError)
    {
        try
        {
            return ask();
        }
        catch (Exception ex)
        {
            if (_resources.ShouldLog("gater/error", out _)) SwarmLog.EventHandlerFailed(_logger, $"IConnectionGater.{what}", ex.Message);
            return onError;
        }
    }

    // The gater's dial check, asked once per address: DialPeerAsync asks it while choosing addresses and then
    // dials with gated: true.
    private void CheckDial(PeerId? peer, Multiaddr address, bool gated)
    {
        if (gated || GaterAllowsDial(peer, address)) return;
        throw DialGated(peer, address);
    }

    private ConnectionRefusedException DialGated(PeerId? peer, Multiaddr address)
    {
        _metrics.Refused("dial", "gater");
        SwarmLog.DialGated(_logger, address);
        return new ConnectionRefusedException(new ConnectionRefusal(RefusalReason.Blocked, "the connection gater blocks this dial"), peer, byRemote: false);
    }

    // After the security handshake: the gater, then the per-peer connection limit (a slot taken on success,
    // released when the connection closes). Null admits.
    private ConnectionRefusal? AdmitSecured(UpgradedConnection upgraded)
    {
        var direction = upgraded.IsInitiator ? ConnectionDirection.Outbound : ConnectionDirection.Inbound;
        // A dial that reached ourselves (through 0.0.0.0, another loopback address, a NAT or a DNS name) is only
        // recognisable here, once the remote proved its PeerId.
        var refusal = upgraded.RemotePeerId == LocalPeerId
            ? new ConnectionRefusal(RefusalReason.Rejected, "a connection to ourselves")
            : Gater is { } gater
                ? AskGater(() => gater.InterceptSecured(direction, upgraded.RemotePeerId, upgraded.LocalAddress, upgraded.RemoteAddress),
                    nameof(IConnectionGater.InterceptSecured), new ConnectionRefusal(RefusalReason.Blocked, "the connection gater failed"))
                : null;
        // The per-peer limit must not break a simultaneous dial: the connection both sides keep may arrive second,
        // and then it may briefly be one over the limit (its twin closes once idle).
        if (refusal is null && !_resources.TryAddPeerConnection(upgraded.RemotePeerId, WinsSimultaneousDial(upgraded.RemotePeerId, direction)))
            refusal = new ConnectionRefusal(RefusalReason.ResourceLimit, "too many connections with this peer");
        if (refusal is null) return null;
        _metrics.Refused("secured", refusal.Reason.ToString());
        if (_resources.ShouldLog("refused/secured", out _, burst: 10))
            SwarmLog.SecuredRefused(_logger, upgraded.RemotePeerId, direction, upgraded.RemoteAddress, refusal.Reason, refusal.Message);
        return refusal;
    }

    // Tells the remote why on one stream, waits (briefly) for it to read and close, then closes the connection.
    private async Task RefuseAsync(UpgradedConnection upgraded, ConnectionRefusal refusal, CancellationToken cancellationToken)
    {
        try
        {
            await RefusalProtocol.SendAsync(upgraded.Muxer, refusal, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A peer without the protocol (js-libp2p) or one that closed first: it just sees the close.
            if (_resources.ShouldLog("refused/not-sent", out _, burst: 10))
                SwarmLog.RefusalNotSent(_logger, upgraded.RemotePeerId, ex.Message);
        }
        finally
        {
            await upgraded.Muxer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
