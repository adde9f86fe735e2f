using System.IO.Pipelines;
using P2PNet.Core;
using P2PNet.Peers.Packets;
using P2PNet.Swarm;

namespace P2PNet.Peers;

// Inbound resumption: the dialer of a channel we hold redials and resumes its session (docs/peers.md, "What a channel
// guarantees"). Called first thing by AcceptInboundAsync when we hold an inbound channel with a session for that peer.
public sealed partial class PeerNetwork
{
    /// <summary>
    /// Reads the dialer's hello. When it resumes <paramref name="channel"/>'s session, the channel adopts the stream
    /// (Handled, the channel); a broken hello is refused (Handled, null). A new session (the peer restarted, or gave up
    /// and dialed anew) while the channel waits to resume: the channel adopts it (Handled, the channel), its
    /// unacknowledged packets reported as lost. Otherwise the caller goes on with the hello (not Handled): a new channel
    /// (a channel that waited to resume and could not adopt the session ends first), or a duplicate while the old one is open.
    /// </summary>
    private async Task<(bool Handled, PeerChannel? Channel, ChannelHello? Hello)> TryResumeInboundAsync(
        PeerChannel channel, MuxedStream stream, Connection connection, PipeReader reader, CancellationToken cancellationToken)
    {
        ChannelHello hello;
        bool waiting = channel.State == PeerChannelState.Resuming;
        try
        {
            // A dialer sends its hello at once; while the channel is open, allow what a duplicate's refusal allows.
            var timeout = waiting ? Options.HelloTimeout : Options.CloseTimeout;
            hello = await PeerChannel.ReadHelloAsync(reader, connection.RemotePeerId, Options.MaxFrameLength, timeout, cancellationToken).ConfigureAwait(false);
            CheckHello(connection, hello);
        }
        catch (PeerNetworkException ex)
        {
            await RefuseAsync(connection, stream, reader, ex.Error, ex.Message, "handshake", closeConnection: true, helloRead: true).ConfigureAwait(false);
            return (true, null, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (waiting)
                await RefuseAsync(connection, stream, reader, null, $"no valid hello: {ex.Message}", "handshake", closeConnection: true, helloRead: true).ConfigureAwait(false);
            else // as before sessions: a second channel stream beside an open channel, without a hello, is reset
                await RefuseAsync(connection, stream, reader, null, "duplicate: already connected", "duplicate",
                    closeConnection: !ReferenceEquals(channel.Connection, connection) && !_opening.ContainsKey(connection.RemotePeerId), helloRead: true).ConfigureAwait(false);
            return (true, null, null);
        }
        if (hello.Session is { } session && session == channel.SessionId && hello.Received is not null)
        {
            var next = new PeerChannel.Session(stream, connection, reader) { Theirs = hello, Ours = LocalHello() };
            if (await channel.ResumeAsync(next, cancellationToken).ConfigureAwait(false))
            {
                Learn((GenericPeer)channel.Peer, hello);
                return (true, channel, hello);
            }
            if (channel.IsEnding && await channel.Completion.WaitAsync(Options.CloseTimeout, cancellationToken).ContinueWith(
                    static t => t.IsCompletedSuccessfully, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false))
            {
                // It ended meanwhile (its connection was closed on purpose): a new channel, in a fresh session.
                return (false, null, hello);
            }
            await RefuseAsync(connection, stream, reader, PeerNetworkError.Duplicate, "duplicate: the session cannot be resumed now", "duplicate",
                closeConnection: false, helloRead: true).ConfigureAwait(false);
            return (true, null, null);
        }
        if (hello.Session is not null && channel.State == PeerChannelState.Resuming)
        {
            // The dialer does not resume the session we wait to resume: it starts a new one (it restarted, or gave up and
            // dialed anew), or resumes one we no longer hold (our answer naming this channel's session was lost with the
            // connection before it read it). The waiting channel adopts a new session at once (the dialer's, or a fresh
            // one): what the peer never acknowledged is reported now, what was queued while resuming goes out in it.
            var next = new PeerChannel.Session(stream, connection, reader) { Theirs = hello, Ours = PeerChannel.AnswerHello(LocalHello(), hello) };
            if (await channel.ResumeAsync(next, cancellationToken).ConfigureAwait(false))
            {
                Learn((GenericPeer)channel.Peer, hello);
                return (true, channel, hello);
            }
            ResumeLog.NewSessionNotAdopted(_logger, channel.Identifier, channel.State);
        }
        if (hello.Session is not null && channel.State == PeerChannelState.Resuming)
        {
            // The peer no longer holds the session we wait to resume (it asks for one we do not know), or the channel could
            // not adopt its new one: end the channel, its packets reported, and go on with a new one.
            await channel.ShutdownAsync("the peer started a new session (it restarted or gave up)").ConfigureAwait(false);
        }
        return (false, null, hello);
    }
}
