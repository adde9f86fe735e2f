using Microsoft.Extensions.Logging;
using System.IO.Pipelines;
using P2PNet.Peers.Packets;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Peers;

// Inbound: the lifecycle of a peer that dials us, as the seed tells it.
public sealed partial class PeerNetwork
{
    // Blocked peers are refused right after the handshake, before any stream. An inbound one blocked by identifier
    // keeps its connection a moment (BlockedChannelGrace) so that its channel stream can be told why.
    private void OnConnectionOpened(object? sender, Connection connection)
    {
        if (IsRefused(connection.RemotePeerId, connection.RemoteAddress) is not { } reason) return;
        Metrics.PeerRefused("blocked");
        PeersLog.PeerRefused(_logger, connection.RemotePeerId, connection.RemoteAddress, reason);
        if (connection.Direction == ConnectionDirection.Inbound && !TrustPolicy.IsBlocked(connection.RemoteAddress.ToIPEndPoint()?.Address))
            Track(CloseAfterGraceAsync(connection));
        else _ = connection.CloseAsync().AsTask();
    }

    /// <summary>
    /// Why a peer (by identifier, or by the IP address of <paramref name="address"/>) is refused, or null. The one place
    /// that asks the block lists; a connection gater can take its place.
    /// </summary>
    private string? IsRefused(PeerId? identifier, Multiaddr? address) =>
        identifier is not null && TrustPolicy.IsBlocked(identifier) ? "blocked identifier"
        : address is not null && TrustPolicy.IsBlocked(address.ToIPEndPoint()?.Address) ? "blocked IP address"
        : null;

    private async Task CloseAfterGraceAsync(Connection connection)
    {
        var grace = Options.HelloTimeout < BlockedChannelGrace ? Options.HelloTimeout : BlockedChannelGrace;
        try
        {
            await connection.Completion.WaitAsync(grace, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
        }
        await connection.CloseAsync().ConfigureAwait(false);
    }

    private async Task ServeInboundChannelAsync(MuxedStream stream, Connection connection, CancellationToken cancellationToken)
    {
        PeerChannel? channel = null;
        var reader = PeerChannel.CreateReader(stream);
        try
        {
            if (IsRefused(connection.RemotePeerId, connection.RemoteAddress) is { } blocked)
            {
                await RefuseAsync(connection, stream, reader, PeerNetworkError.Blocked, blocked, "blocked", closeConnection: true, helloRead: false).ConfigureAwait(false);
                return;
            }
            channel = await AcceptInboundAsync(stream, connection, reader, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (channel is null) await reader.CompleteAsync().ConfigureAwait(false);
        }
        // The stream belongs to the channel now; keep the handler (and so the stream) alive while the channel uses it.
        if (channel is not null) await channel.StreamReleased(stream).ConfigureAwait(false);
    }

    /// <summary>Duplicates, the dialer's hello, placement, KnownPeers, our hello, the channel. Null when refused.</summary>
    private async Task<PeerChannel?> AcceptInboundAsync(MuxedStream stream, Connection connection, PipeReader reader, CancellationToken cancellationToken)
    {
        var remote = connection.RemotePeerId;
        // Resumption (PeerNetwork.Resume.cs): the dialer of a channel we hold resumes its session on this stream.
        ChannelHello? early = null;
        if (_active.TryGetValue(remote, out var resumable) && resumable.Direction == ConnectionDirection.Inbound && resumable.SessionId is not null)
        {
            var (handled, resumed, hello) = await TryResumeInboundAsync(resumable, stream, connection, reader, cancellationToken).ConfigureAwait(false);
            if (handled) return resumed;
            early = hello; // read already: not a resumption of that channel
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
            await RefuseAsync(connection, stream, reader, PeerNetworkError.Duplicate, "duplicate: already connected", "duplicate", closeConnection: !shared, helloRead: early is not null)
                .ConfigureAwait(false);
            return null;
        }

        PeerChannel? accepted = null;
        // A refused dialer may dial again the moment it reads the refusal: free the slot before telling it, or its
        // next attempt would meet this one and be refused as a duplicate.
        void Release()
        {
            _opening.TryRemove(new KeyValuePair<PeerId, ChannelOpening>(remote, opening));
            opening.Ended();
        }
        var span = PeerNetworkMetrics.StartChannelOpen(remote, ConnectionDirection.Inbound);
        try
        {
            // The dialer's hello, within HelloTimeout of the stream opening: a peer that sends none, garbage, a packet,
            // a hello for another identifier or network is refused before the application hears of it.
            ChannelHello hello;
            try
            {
                hello = early ?? await PeerChannel.ReadHelloAsync(reader, remote, Options.MaxFrameLength, Options.HelloTimeout, cancellationToken).ConfigureAwait(false);
                CheckHello(connection, hello);
            }
            catch (PeerNetworkException ex)
            {
                Release();
                await RefuseAsync(connection, stream, reader, ex.Error, ex.Message, "handshake", closeConnection: true, helloRead: true).ConfigureAwait(false);
                return null;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Garbage, a packet, the stream ending or no hello in time: no reply to a peer that broke the protocol.
                Release();
                await RefuseAsync(connection, stream, reader, null, $"no valid hello: {ex.Message}", "handshake", closeConnection: true, helloRead: true).ConfigureAwait(false);
                return null;
            }

            var peer = _known.TryGet(remote, out var known) ? known : new GenericPeer(remote);
            peer.Attach(connection.Socket, stream, connection.RemoteAddress.ToIPEndPoint());
            peer.Source = "inbound";
            var (rejection, added) = await PlaceAsync(peer, cancellationToken).ConfigureAwait(false);
            if (rejection is not null)
            {
                peer.Detach();
                ForgetRefused(peer, added);
                Release();
                await RefuseAsync(connection, stream, reader, PeerNetworkError.Rejected, rejection, "rejected", closeConnection: true, helloRead: true).ConfigureAwait(false);
                return null;
            }
            added |= Remember(peer);
            Learn(peer, hello);

            var answer = PeerChannel.AnswerHello(LocalHello(), hello); // the session: the dialer's new one, or a fresh one
            try
            {
                await PeerChannel.WriteHelloAsync(stream, answer, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                peer.Detach();
                ForgetRefused(peer, added); // it went away before its channel opened
                Release();
                await RefuseAsync(connection, stream, reader, null, $"the dialer left: {ex.Message}", "handshake", closeConnection: true, helloRead: true).ConfigureAwait(false);
                return null;
            }
            var channel = new PeerChannel(_channelServices, peer, ConnectionDirection.Inbound, TrustPolicy.InitialTrustLevel, _loggerFactory.CreateLogger<PeerChannel>());
            Start(channel, new PeerChannel.Session(stream, connection, reader) { Theirs = hello, Ours = answer });
            try
            {
                await ActivateAsync(channel, cancellationToken).ConfigureAwait(false);
                accepted = channel;
            }
            catch (PeerNetworkException)
            {
                ForgetRefused(peer, added); // logged; the channel is closed
            }
            return channel;
        }
        finally
        {
            PeerNetworkMetrics.EndChannelOpen(span, accepted is not null);
            _opening.TryRemove(new KeyValuePair<PeerId, ChannelOpening>(remote, opening));
            opening.Ended(accepted);
        }
    }

    /// <summary>
    /// Event and/or queue placement; returns the rejection reason (null when accepted), and whether the peer was
    /// added to KnownPeers while it waited in the queue.
    /// </summary>
    private async Task<(string? Rejection, bool Added)> PlaceAsync(GenericPeer peer, CancellationToken cancellationToken)
    {
        var placement = TrustPolicy.IncomingPeerPlacement;
        if (placement is IncomingPeerPlacement.EventBased or IncomingPeerPlacement.Both)
        {
            var args = new IncomingPeerConnectionAttemptEventArgs(peer);
            Raise(IncomingPeerConnectionAttempt, args, nameof(IncomingPeerConnectionAttempt));
            if (args.IsRejected) return (args.RejectionReason ?? "rejected", false);
        }
        if (placement is IncomingPeerPlacement.QueueBased or IncomingPeerPlacement.Both)
        {
            var request = new InboundPeerRequest(peer);
            if (!InboundConnectingPeersQueue.TryEnqueue(request)) return ("the inbound queue is full", false);
            bool added = Remember(peer); // known while it waits, as the seed orders it
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            timeout.CancelAfter(Options.InboundDecisionTimeout);
            try
            {
                if (!await request.Decision.WaitAsync(timeout.Token).ConfigureAwait(false)) return (request.RejectionReason ?? "rejected", added);
            }
            catch (OperationCanceledException)
            {
                request.Reject("not accepted in time");
                return (request.RejectionReason ?? "not accepted in time", added);
            }
            return (null, added);
        }
        return (null, false);
    }

    // The metric is tagged with a fixed kind (blocked, duplicate, rejected, handshake), never the free text:
    // an application's rejection reasons or exception messages would make its tag values unbounded.
    /// <summary>
    /// Refuses a channel stream. With an <paramref name="error"/>, a dialer that sent its hello (read here first when
    /// <paramref name="helloRead"/> is false) is told why: a refusal frame in place of our hello. It then has the rest of
    /// <see cref="PeerNetworkOptions.CloseTimeout"/> to read it and close its side. Then the stream is reset and, when
    /// asked, the connection closed. A stream without a hello (not a P2PNet dialer, or a broken one) is just reset.
    /// </summary>
    private async Task RefuseAsync(Connection connection, MuxedStream stream, PipeReader reader, PeerNetworkError? error, string reason, string kind,
        bool closeConnection, bool helloRead)
    {
        Metrics.PeerRefused(kind);
        PeersLog.PeerRefused(_logger, connection.RemotePeerId, connection.RemoteAddress, reason);
        if (error is { } refusal)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(Options.CloseTimeout);
            try
            {
                if (!helloRead)
                    await PeerChannel.ReadHelloAsync(reader, connection.RemotePeerId, Options.MaxFrameLength, Options.CloseTimeout, timeout.Token).ConfigureAwait(false);
                await PeerChannel.WriteRefusalAsync(stream, refusal, reason, timeout.Token).ConfigureAwait(false);
                // Closing at once could lose the frame: wait for the dialer to read it and close or reset its side.
                while (true)
                {
                    var result = await reader.ReadAsync(timeout.Token).ConfigureAwait(false);
                    reader.AdvanceTo(result.Buffer.End);
                    if (result.IsCompleted) break;
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or IOException or ObjectDisposedException or InvalidOperationException)
            {
                // Best effort: no hello came, the dialer reset the stream (having read the refusal), left, or took too long.
            }
        }
        stream.Reset();
        // Not awaited: closing a connection waits for its stream handlers, this one included (a deadlock
        // that also hung the host's disposal). The host awaits the close on its own disposal.
        if (closeConnection) _ = connection.CloseAsync().AsTask();
    }
}
