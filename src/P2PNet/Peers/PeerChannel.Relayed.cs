using P2PNet.Protocols.Relay;
using P2PNet.Swarm;

namespace P2PNet.Peers;

// Channels over limited (relayed) connections: a relay limit that ends the circuit is reported and the session resumes
// on a new connection (the reconnect and resume paths do the work); an outbound channel on a relayed connection moves
// onto a direct one when it appears. Docs: docs/peers.md, "Relayed channels".
public sealed partial class PeerChannel
{
    /// <summary>
    /// A direct connection to the peer appeared: an outbound channel whose session runs on a limited connection stops
    /// that session (reads first, so that what it received is final) and resumes on the direct connection. True when a
    /// move was started.
    /// </summary>
    internal bool RequestMove()
    {
        Session? session;
        lock (_sync)
        {
            session = _session;
            if (Direction != ConnectionDirection.Outbound || session is null || _sessionId is null || _noRetry || State != PeerChannelState.Open
                || !session.Connection.IsRelayed || session.Moving || session.Ended != 0)
                return false;
            session.Moving = true;
        }
        session.Stop.Cancel();
        return true;
    }

    /// <summary>
    /// Outbound: <paramref name="old"/> stopped to move. Its read loop has ended, so our received count is final; its
    /// writes stop too, but its stream stays open until the peer has answered our resume on the new connection (the
    /// peer then sees a resumption, not a closed channel). Null when the move failed: the caller ends the old session
    /// and reconnects as after any loss.
    /// </summary>
    private async Task<Session?> MoveAsync(Session old)
    {
        await old.Stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await old.WriteLoop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            PeersLog.ConnectionLost(_logger, Identifier, ex.Message);
        }
        RaiseReopen(opened: false, ChannelReopenReason.DirectConnection, "a direct connection to the peer appeared");
        Session next;
        try
        {
            next = await _services.ReopenAsync(this, _lifetime.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_lifetime.IsCancellationRequested)
        {
            RelayedChannelLog.MoveFailed(_logger, Identifier, ex.Message);
            old.Failed = true;
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        await EndSessionAsync(old).ConfigureAwait(false);
        ResumeOutbound(next);
        Attach(next);
        SetState(PeerChannelState.Open);
        ReportReopened(old, next);
        return next;
    }

    /// <summary>
    /// After a session resumed on <paramref name="next"/>: the reopen event when the move had a reason we name. A channel
    /// that left a relayed connection for a direct one reports DirectConnection, even when a relay limit started the move.
    /// </summary>
    private void ReportReopened(Session previous, Session next)
    {
        ChannelReopenReason? reason = previous.Connection.IsRelayed && !next.Connection.IsRelayed ? ChannelReopenReason.DirectConnection
            : previous.RelayLimit ? ChannelReopenReason.RelayLimit
            : null;
        if (reason is not { } r) return;
        var address = next.Connection.RemoteAddress;
        RelayedChannelLog.Reopened(_logger, Identifier, address, r);
        RaiseReopen(opened: true, r, $"resumed on {(next.Connection.IsRelayed ? "a relayed" : "a direct")} connection ({address})");
    }

    private void RaiseReopen(bool opened, ChannelReopenReason reason, string message)
    {
        var args = new ChannelReopenEventArgs(this, reason, message);
        if (opened) _services.Reopened(args);
        else _services.Reopening(args);
    }

    /// <summary>The relay-limit error somewhere in <paramref name="ex"/>'s chain (a circuit the relay ended at its limit), if any.</summary>
    private static RelayException? FindRelayLimit(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is RelayException { Error: RelayError.LimitReached } limit) return limit;
        }
        return null;
    }
}
