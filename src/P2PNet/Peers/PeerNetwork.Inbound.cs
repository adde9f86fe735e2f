using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Peers;

// Inbound: the lifecycle of a peer that dials us, as the seed tells it.
public sealed partial class PeerNetwork
{
    // Blocked peers are refused right after the handshake, before any stream.
    private void OnConnectionOpened(object? sender, Connection connection)
    {
        var ip = connection.RemoteAddress.ToIPEndPoint()?.Address;
        string? reason = TrustPolicy.IsBlocked(connection.RemotePeerId) ? "blocked identifier"
            : TrustPolicy.IsBlocked(ip) ? "blocked IP address"
            : null;
        if (reason is null) return;
        Metrics.PeerRefused("blocked");
        PeersLog.PeerRefused(_logger, connection.RemotePeerId, connection.RemoteAddress, reason);
        _ = connection.CloseAsync().AsTask();
    }

    private async Task ServeInboundChannelAsync(MuxedStream stream, Connection connection, CancellationToken cancellationToken)
    {
        var remote = connection.RemotePeerId;
        if (TrustPolicy.IsBlocked(remote) || TrustPolicy.IsBlocked(connection.RemoteAddress.ToIPEndPoint()?.Address))
        {
            Refuse(connection, stream, "blocked", "blocked", closeConnection: true);
            return;
        }
        // A simultaneous dial: our own dial to this peer is in flight. If the peer has priority, its dial (this
        // one) is the one both sides keep: wait for ours to be refused, then go on.
        var opening = new ChannelOpening(outbound: false, connection);
        if (_opening.TryGetValue(remote, out var ours) && ours.Outbound && HasPriority(remote))
        {
            ours.YieldTo(opening);
            await ours.WaitEndedAsync(Options.SimultaneousDialWait, cancellationToken).ConfigureAwait(false);
        }
        bool live = _active.TryGetValue(remote, out var existing) && existing.State != PeerChannelState.Closed;
        if (live || !_opening.TryAdd(remote, opening))
        {
            opening.Ended();
            // Close a redundant connection, never the one the other channel lives or is being opened on. In a
            // simultaneous dial (ours in flight) keep it too: the dialer waits on it for our channel to arrive.
            bool shared = ReferenceEquals(existing?.Connection, connection)
                || (_opening.TryGetValue(remote, out var other) && (other.Outbound || ReferenceEquals(other.Connection, connection)));
            Refuse(connection, stream, "duplicate: already connected", "duplicate", closeConnection: !shared);
            return;
        }

        PeerChannel channel;
        PeerChannel? accepted = null;
        var span = PeerNetworkMetrics.StartChannelOpen(remote, ConnectionDirection.Inbound);
        try
        {
            var peer = _known.TryGetValue(remote, out var known) ? known : new GenericPeer(remote);
            peer.Attach(connection.Socket, stream, connection.RemoteAddress.ToIPEndPoint());
            peer.Source = "inbound";
            string? rejection = await PlaceAsync(peer, cancellationToken).ConfigureAwait(false);
            if (rejection is not null)
            {
                _known.TryRemove(new KeyValuePair<PeerId, GenericPeer>(remote, peer));
                Refuse(connection, stream, rejection, "rejected", closeConnection: true);
                return;
            }
            Remember(peer);

            PeerChannel.Session session;
            try
            {
                var (opened, hello) = await PeerChannel.HandshakeAsync(stream, connection, LocalHello(), Options.MaxFrameLength, Options.ChannelOpenTimeout, cancellationToken)
                    .ConfigureAwait(false);
                CheckHello(connection, hello);
                Learn(peer, hello);
                session = opened;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Refuse(connection, stream, ex.Message, "handshake", closeConnection: true);
                return;
            }
            channel = new PeerChannel(this, peer, ConnectionDirection.Inbound, TrustPolicy.InitialTrustLevel, _loggerFactory.CreateLogger<PeerChannel>());
            Start(channel, session);
            try
            {
                await ActivateAsync(channel, cancellationToken).ConfigureAwait(false);
                accepted = channel;
            }
            catch (PeerNetworkException)
            {
                return; // logged; the channel is closed
            }
        }
        finally
        {
            PeerNetworkMetrics.EndChannelOpen(span, accepted is not null);
            _opening.TryRemove(new KeyValuePair<PeerId, ChannelOpening>(remote, opening));
            opening.Ended(accepted);
        }
        // The stream belongs to the channel now; keep the handler (and so the stream) alive with it.
        await channel.Completion.ConfigureAwait(false);
    }

    /// <summary>Event and/or queue placement; returns the rejection reason, or null when accepted.</summary>
    private async Task<string?> PlaceAsync(GenericPeer peer, CancellationToken cancellationToken)
    {
        var placement = TrustPolicy.IncomingPeerPlacement;
        if (placement is IncomingPeerPlacement.EventBased or IncomingPeerPlacement.Both)
        {
            var args = new IncomingPeerConnectionAttemptEventArgs(peer);
            Raise(IncomingPeerConnectionAttempt, args, nameof(IncomingPeerConnectionAttempt));
            if (args.IsRejected) return args.RejectionReason;
        }
        if (placement is IncomingPeerPlacement.QueueBased or IncomingPeerPlacement.Both)
        {
            var request = new InboundPeerRequest(peer);
            if (!InboundConnectingPeersQueue.TryEnqueue(request)) return "the inbound queue is full";
            Remember(peer); // known while it waits, as the seed orders it
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            timeout.CancelAfter(Options.InboundDecisionTimeout);
            try
            {
                if (!await request.Decision.WaitAsync(timeout.Token).ConfigureAwait(false)) return request.RejectionReason;
            }
            catch (OperationCanceledException)
            {
                request.Reject("not accepted in time");
                return request.RejectionReason;
            }
        }
        return null;
    }

    // The metric is tagged with a fixed kind (blocked, duplicate, rejected, handshake), never the free text:
    // an application's rejection reasons or exception messages would make its tag values unbounded.
    private void Refuse(Connection connection, MuxedStream stream, string reason, string kind, bool closeConnection)
    {
        Metrics.PeerRefused(kind);
        PeersLog.PeerRefused(_logger, connection.RemotePeerId, connection.RemoteAddress, reason);
        stream.Reset();
        // Not awaited: closing a connection waits for its stream handlers, this one included (a deadlock
        // that also hung the host's disposal). The host awaits the close on its own disposal.
        if (closeConnection) _ = connection.CloseAsync().AsTask();
    }
}
