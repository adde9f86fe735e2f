using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Peers;

// Channels and limited (relayed) connections: waiting for a direct connection when channels may not run on a relayed
// one, and moving a channel off a relayed connection when a direct one appears (docs/peers.md, "Relayed channels").
public sealed partial class PeerNetwork
{
    /// <summary>
    /// A direct connection came up: an outbound channel with that peer that runs on a limited (relayed) connection moves
    /// onto it, by the resume path (the peer sees a redial that resumes the session).
    /// </summary>
    private void OnDirectConnectionOpened(object? sender, Connection connection)
    {
        if (connection.IsRelayed || !connection.IsOpen) return;
        if (_active.TryGetValue(connection.RemotePeerId, out var channel) && channel.RequestMove())
            RelayedChannelLog.Moving(_logger, channel.Identifier);
    }

    /// <summary>
    /// A channel just became active: when it runs on a limited connection and a direct one to its peer is already up
    /// (a hole punch that finished while the channel opened), it moves now; <see cref="OnDirectConnectionOpened"/> came too early.
    /// </summary>
    private void MoveIfDirect(PeerChannel channel)
    {
        if (Host.FindConnection(channel.Identifier) is { IsRelayed: false, IsOpen: true } && channel.RequestMove())
            RelayedChannelLog.Moving(_logger, channel.Identifier);
    }

    /// <summary>
    /// <paramref name="connection"/> is limited and channels may not run on it: waits (up to the dial timeout) for a
    /// direct connection to the same peer, from hole punching or the peer dialing us.
    /// </summary>
    /// <exception cref="PeerNetworkException"><see cref="PeerNetworkError.LimitedConnection"/>: none came in time.</exception>
    private async Task<Connection> AwaitDirectConnectionAsync(Connection connection, CancellationToken cancellationToken)
    {
        var peer = connection.RemotePeerId;
        var timeout = Options.Swarm.DialTimeout;
        var direct = new TaskCompletionSource<Connection>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnOpened(object? sender, Connection c)
        {
            if (c.RemotePeerId == peer && !c.Info.IsLimited && c.IsOpen) direct.TrySetResult(c);
        }
        Host.ConnectionOpened += OnOpened;
        try
        {
            if (Host.FindConnection(peer) is { Info.IsLimited: false, IsOpen: true } live) return live;
            RelayedChannelLog.AwaitingDirect(_logger, peer, timeout.TotalSeconds);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            return await direct.Task.WaitAsync(timeout, stop.Token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new PeerNetworkException(PeerNetworkError.LimitedConnection,
                $"{peer} is reachable only through a relay ({connection.RemoteAddress}) and channels may not run on limited connections " +
                $"(PeerNetworkOptions.AllowLimitedConnections is off): no direct connection came within {timeout.TotalSeconds:0.#} s");
        }
        finally
        {
            Host.ConnectionOpened -= OnOpened;
        }
    }
}
