using Microsoft.Extensions.Logging;
using System.Net;
using P2PNet.Core;
using P2PNet.Peers.Packets;
using P2PNet.Swarm;

namespace P2PNet.Peers;

// Outbound: connecting to peers and reopening sessions of outbound channels.
public sealed partial class PeerNetwork
{
    /// <summary>
    /// Connects to a peer and opens its channel. With <c>/p2p/</c> in the address the peer must prove that
    /// identifier; an existing channel with the peer is returned as it is.
    /// </summary>
    /// <exception cref="PeerNetworkException">Blocked, ourselves, duplicate, another network, or rejected by the trust protocol.</exception>
    public async Task<PeerChannel> ConnectAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (IsSelf(address)) throw new PeerNetworkException(PeerNetworkError.Self, $"refusing to connect to ourselves ({address})");
        if (address.PeerId is { } wanted)
        {
            if (IsRefused(wanted, null) is { } blocked) throw new PeerNetworkException(PeerNetworkError.Blocked, $"{wanted} is blocked ({blocked})");
            if (_active.TryGetValue(wanted, out var live) && live.State != PeerChannelState.Closed) return live;
        }
        if (IsRefused(null, address) is not null)
            throw new PeerNetworkException(PeerNetworkError.Blocked, $"{address.ToIPEndPoint()?.Address} is blocked");

        Connection connection;
        try
        {
            connection = await Host.DialAsync(address, cancellationToken).ConfigureAwait(false);
        }
        catch (DialException ex) when (ex.Error == DialError.Self)
        {
            // An address of ours the host recognised only once the handshake named us.
            throw new PeerNetworkException(PeerNetworkError.Self, $"refusing to connect to ourselves ({ex.Message})", ex);
        }
        var remote = connection.RemotePeerId;
        if (remote == Identifier)
        {
            // An address of ours we did not recognise (another interface, a forwarded port).
            await connection.CloseAsync().ConfigureAwait(false);
            throw new PeerNetworkException(PeerNetworkError.Self, $"refusing to connect to ourselves ({address})");
        }
        if (IsRefused(remote, null) is not null)
        {
            await connection.CloseAsync().ConfigureAwait(false);
            throw new PeerNetworkException(PeerNetworkError.Blocked, $"{remote} is blocked");
        }
        if (_active.TryGetValue(remote, out var existing) && existing.State != PeerChannelState.Closed) return existing;
        var opening = new ChannelOpening(outbound: true, connection);
        for (int attempt = 0; !_opening.TryAdd(remote, opening); attempt++)
        {
            // A channel with this peer is already being opened (its dial to us, or another call of ours):
            // ours would be refused as a duplicate, so wait for that one and hand it over.
            if (!_opening.TryGetValue(remote, out var current)) continue;
            var other = await current.WaitEndedAsync(Options.SimultaneousDialWait, cancellationToken).ConfigureAwait(false);
            if (other is { State: PeerChannelState.Open } || (_active.TryGetValue(remote, out other) && other.State != PeerChannelState.Closed))
            {
                if (!ReferenceEquals(other.Connection, connection)) _ = connection.CloseAsync().AsTask(); // redundant
                return other;
            }
            if (attempt > 0) throw new PeerNetworkException(PeerNetworkError.Duplicate, $"a channel with {remote} is already being opened");
        }
        var span = PeerNetworkMetrics.StartChannelOpen(remote, ConnectionDirection.Outbound);
        GenericPeer? peer = null;
        bool added = false;
        try
        {
            peer = Remember(remote, [address], "outbound", out added);
            // The host resolves simultaneous dials: of two connections with this peer it keeps one on both sides. Open the
            // channel stream on that one, so that two channels opened at once meet on one connection (see HasPriority).
            if (Host.FindConnection(remote) is { } kept) connection = kept;
            PeerChannel.Session session;
            ChannelHello hello;
            (session, hello, connection) = await OpenSessionAsync(connection, address, cancellationToken).ConfigureAwait(false);
            Learn(peer, hello);
            var channel = new PeerChannel(_channelServices, peer, ConnectionDirection.Outbound, TrustPolicy.InitialTrustLevel, _loggerFactory.CreateLogger<PeerChannel>());
            Start(channel, session);
            await ActivateAsync(channel, cancellationToken).ConfigureAwait(false);
            PeerNetworkMetrics.EndChannelOpen(span, opened: true);
            return channel;
        }
        catch (PeerNetworkException ex) when (ex.Error is PeerNetworkError.Blocked or PeerNetworkError.Rejected or PeerNetworkError.WrongNetwork && peer is not null)
        {
            // Refused by the remote, its hello or the trust protocol: it does not stay known for this attempt, and
            // the connection the remote is closing is not left for the next dial to pick up.
            ForgetRefused(peer, added);
            _ = connection.CloseAsync().AsTask();
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException && FindNoProtocol(ex) is null
            && ex is not PeerNetworkException { Error: PeerNetworkError.LimitedConnection })
        {
            // Perhaps both dialed at once and the remote refused ours as a duplicate (a peer that refused the
            // protocol itself is no such case: it is not a P2PNet peer): the channel its dial opens
            // (when it has priority, or when ours lost the race) is the one both sides keep. Hand that one over.
            _opening.TryRemove(new KeyValuePair<PeerId, ChannelOpening>(remote, opening));
            opening.Ended();
            if (await AwaitPriorityChannelAsync(remote, opening, cancellationToken).ConfigureAwait(false) is { } won)
            {
                PeersLog.SimultaneousDial(_logger, remote);
                if (!ReferenceEquals(won.Connection, connection)) _ = connection.CloseAsync().AsTask(); // ours is redundant
                return won;
            }
            if (peer is not null && ex is PeerNetworkException) ForgetRefused(peer, added);
            throw;
        }
        finally
        {
            PeerNetworkMetrics.EndChannelOpen(span, opened: false);
            _opening.TryRemove(new KeyValuePair<PeerId, ChannelOpening>(remote, opening));
            opening.Ended();
        }
    }

    /// <summary>
    /// After our dial to a peer failed: the channel that peer opened or is opening to us, once open; null when none
    /// comes (no connection left to it, it failed, or <see cref="PeerNetworkOptions.SimultaneousDialWait"/> passed). Only
    /// for a peer with priority do we wait for a channel stream that has not reached us yet.
    /// </summary>
    private async Task<PeerChannel?> AwaitPriorityChannelAsync(PeerId remote, ChannelOpening ours, CancellationToken cancellationToken)
    {
        if (ours.YieldedTo is { } inbound)
            return await inbound.WaitEndedAsync(Options.SimultaneousDialWait, cancellationToken).ConfigureAwait(false) is { State: PeerChannelState.Open } c ? c : null;
        if (!HasPriority(remote))
        {
            if (_active.TryGetValue(remote, out var won) && won.State == PeerChannelState.Open) return won;
            return _opening.TryGetValue(remote, out var pending)
                && await pending.WaitEndedAsync(Options.SimultaneousDialWait, cancellationToken).ConfigureAwait(false) is { State: PeerChannelState.Open } p ? p : null;
        }
        // Its channel stream may not have reached us yet: wait while a connection to it stays open.
        var added = new TaskCompletionSource<PeerChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnAdded(object? sender, PeerChannel channel)
        {
            if (channel.Identifier == remote) added.TrySetResult(channel);
        }
        PeerAdded += OnAdded;
        try
        {
            if (_active.TryGetValue(remote, out var live) && live.State == PeerChannelState.Open) return live;
            if (_opening.TryGetValue(remote, out var other))
                return await other.WaitEndedAsync(Options.SimultaneousDialWait, cancellationToken).ConfigureAwait(false) is { State: PeerChannelState.Open } c ? c : null;
            if (Host.FindConnection(remote) is not { } connection) return null;
            var first = await Task.WhenAny(added.Task, connection.Completion, Task.Delay(Options.SimultaneousDialWait, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return first == added.Task ? await added.Task.ConfigureAwait(false) : null;
        }
        finally
        {
            PeerAdded -= OnAdded;
        }
    }

    /// <summary>
    /// True when <paramref name="remote"/>'s dial is the one kept: the host's rule for simultaneous dials
    /// (<see cref="SwarmHost.KeptDirection"/>: the lower PeerId's dial wins), applied once more to the two channels
    /// two nodes may open at once on the connection the host kept. The one channel both sides keep is the one that
    /// rides the connection both hosts keep.
    /// </summary>
    private bool HasPriority(PeerId remote) => Host.KeptDirection(remote) == ConnectionDirection.Inbound;

    /// <summary>Connects to a peer by IP endpoint (any identifier is accepted; it is proven by the handshake).</summary>
    public Task<PeerChannel> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken = default) =>
        ConnectAsync(Multiaddr.FromEndPoint(endPoint ?? throw new ArgumentNullException(nameof(endPoint))), cancellationToken);

    /// <summary>
    /// Opens a channel with a known peer by dialing its addresses in turn; returns the live channel if there
    /// already is one.
    /// </summary>
    /// <exception cref="PeerNetworkException">No address worked (the last failure is the inner exception).</exception>
    public async Task<PeerChannel> OpenPeerChannelAsync(IPeer peer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (_active.TryGetValue(peer.Identifier, out var live) && live.State != PeerChannelState.Closed) return live;
        if (IsRefused(peer.Identifier, null) is { } blocked) throw new PeerNetworkException(PeerNetworkError.Blocked, $"{peer.Identifier} is blocked ({blocked})");
        Connection connection;
        try
        {
            // The host dials: one dial per peer (concurrent callers join it), the store's addresses in turn (those that
            // worked before first). The peer's own addresses are lent to the store for this dial, for those that are
            // not there (still) - a peer the network does not know, or heard-of addresses past their TTL.
            var known = Host.PeerStore.GetAddresses(peer.Identifier);
            var lent = peer.Addresses.Select(a => a.WithoutPeerId()).Where(a => !known.Contains(a)).ToList();
            if (lent.Count > 0) Host.PeerStore.AddAddresses(peer.Identifier, lent, AddressSource.Discovery);
            connection = await Host.DialAsync(peer.Identifier, cancellationToken).ConfigureAwait(false);
        }
        catch (DialException ex) when (ex.Error == DialError.Blocked)
        {
            throw new PeerNetworkException(PeerNetworkError.Blocked, $"{peer.Identifier} is blocked: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new PeerNetworkException(PeerNetworkError.NoAddress, $"no address of {peer.Identifier} could be reached", ex);
        }
        // The channel opens on that connection (ConnectAsync finds it); the address kept with the peer is one it
        // listens on, never the port an inbound connection came from.
        var stored = Host.PeerStore.GetAddresses(peer.Identifier);
        var address = connection.Direction == ConnectionDirection.Outbound ? connection.RemoteAddress
            : peer.Addresses.Count > 0 ? peer.Addresses[0]
            : stored.Count > 0 ? stored[0]
            : connection.RemoteAddress;
        try
        {
            return await ConnectAsync(address.WithPeerId(peer.Identifier), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ex is not PeerNetworkException { Error: PeerNetworkError.Blocked })
        {
            throw new PeerNetworkException(PeerNetworkError.NoAddress, $"no address of {peer.Identifier} could be reached", ex);
        }
    }

    /// <summary>Closes the channel with <paramref name="identifier"/> gracefully, if there is one.</summary>
    public Task ClosePeerChannelAsync(PeerId identifier, string? reason = null, CancellationToken cancellationToken = default) =>
        _active.TryGetValue(identifier, out var channel) ? channel.ClosePeerChannelAsync(reason, cancellationToken) : Task.CompletedTask;

    /// <summary>Dials an outbound channel's peer again and opens a new session for it (reconnects).</summary>
    private async Task<PeerChannel.Session> ReopenSessionAsync(PeerChannel channel, CancellationToken cancellationToken)
    {
        if (IsRefused(channel.Identifier, null) is not null) throw new PeerNetworkException(PeerNetworkError.Blocked, $"{channel.Identifier} is blocked");
        Exception? last = null;
        // The connection the host prefers first (a direct one beats a relayed one), when it is there already.
        if (Host.FindConnection(channel.Identifier) is { IsOpen: true } live && (!live.Info.IsLimited || Options.AllowLimitedConnections))
        {
            try
            {
                var (session, hello, _) = await OpenSessionAsync(live, live.RemoteAddress, cancellationToken, resuming: channel).ConfigureAwait(false);
                Learn((GenericPeer)channel.Peer, hello);
                return session;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                last = ex;
            }
        }
        foreach (var address in channel.Peer.Addresses)
        {
            try
            {
                var connection = await DialAsync(address, channel.Identifier, cancellationToken).ConfigureAwait(false);
                var (session, hello, _) = await OpenSessionAsync(connection, address, cancellationToken, resuming: channel).ConfigureAwait(false);
                Learn((GenericPeer)channel.Peer, hello);
                return session;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                last = ex;
            }
        }
        throw last ?? new PeerNetworkException(PeerNetworkError.NoAddress, $"{channel.Identifier} has no known address");
    }

    /// <summary>
    /// Opens the channel stream on <paramref name="connection"/> and exchanges hellos. A connection found closing (the
    /// remote ended it right after refusing us) is replaced by one fresh dial of <paramref name="address"/>; the
    /// connection used is returned.
    /// </summary>
    private async Task<(PeerChannel.Session Session, ChannelHello Hello, Connection Connection)> OpenSessionAsync(
        Connection connection, Multiaddr address, CancellationToken cancellationToken, PeerChannel? resuming = null)
    {
        if (!connection.IsOpen) connection = await DialAsync(address, connection.RemotePeerId, cancellationToken).ConfigureAwait(false);
        if (connection.Info.IsLimited && !Options.AllowLimitedConnections)
            connection = await AwaitDirectConnectionAsync(connection, cancellationToken).ConfigureAwait(false);
        MuxedStream stream;
        try
        {
            try
            {
                stream = await connection.OpenStreamAsync(PeerChannel.ProtocolId, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not ConnectionRefusedException
                && connection.Refusal is null && FindNoProtocol(ex) is null && !connection.IsOpen)
            {
                connection = await DialAsync(address, connection.RemotePeerId, cancellationToken).ConfigureAwait(false);
                stream = await connection.OpenStreamAsync(PeerChannel.ProtocolId, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ConnectionRefusedException ex) when (ex.ByRemote)
        {
            // The remote's host refused us after the handshake (its gater or limits) and said why.
            throw new PeerNetworkException(ex.Reason switch
            {
                RefusalReason.Blocked => PeerNetworkError.Blocked,
                RefusalReason.Duplicate => PeerNetworkError.Duplicate,
                RefusalReason.WrongNetwork => PeerNetworkError.WrongNetwork,
                _ => PeerNetworkError.Rejected,
            }, $"{connection.RemotePeerId} refused the connection ({ex.Reason}): {ex.Refusal.Message}", ex);
        }
        var reader = PeerChannel.CreateReader(stream);
        try
        {
            var ours = resuming?.ResumeHello(LocalHello()) ?? LocalHello(); // a redial resumes the channel's session
            await PeerChannel.WriteHelloAsync(stream, ours, cancellationToken).ConfigureAwait(false);
            // Bounds our wait through the listener's decision (its application may take InboundDecisionTimeout).
            var hello = await PeerChannel.ReadHelloAsync(reader, connection.RemotePeerId, Options.MaxFrameLength, Options.ChannelOpenTimeout, cancellationToken)
                .ConfigureAwait(false);
            CheckHello(connection, hello);
            return (new PeerChannel.Session(stream, connection, reader) { Theirs = hello, Ours = ours }, hello, connection);
        }
        catch
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            stream.Reset();
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Dials <paramref name="address"/> as <paramref name="expected"/>, never reusing a connection that is closing.</summary>
    private async Task<Connection> DialAsync(Multiaddr address, PeerId expected, CancellationToken cancellationToken)
    {
        var connection = await Host.DialAsync(address.WithPeerId(expected), cancellationToken).ConfigureAwait(false);
        if (connection.IsOpen) return connection;
        await connection.CloseAsync().ConfigureAwait(false); // closing already: wait for it to go, then dial anew
        return await Host.DialAsync(address.WithPeerId(expected), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>True when <paramref name="address"/> names us: our PeerId, or one of our listen addresses.</summary>
    private bool IsSelf(Multiaddr address)
    {
        if (address.PeerId == Identifier) return true;
        var target = address.ToIPEndPoint();
        if (target is null) return false;
        foreach (var listen in ListenAddresses)
        {
            if (target.Equals(listen.ToIPEndPoint())) return true;
        }
        return false;
    }

    private void CheckHello(Connection connection, ChannelHello hello)
    {
        if (hello.Identifier != connection.RemotePeerId.ToString())
            throw new PeerNetworkException(PeerNetworkError.Duplicate, $"hello claims {hello.Identifier} on a connection proven to be {connection.RemotePeerId}");
        if (!string.Equals(hello.NetworkName, Options.NetworkName, StringComparison.Ordinal))
            throw new PeerNetworkException(PeerNetworkError.WrongNetwork, $"{connection.RemotePeerId} belongs to network '{hello.NetworkName}', not '{Options.NetworkName}'");
    }

    /// <summary>Runs the trust protocol, then adds the channel to ActivePeerChannels and raises PeerAdded.</summary>
    private async Task ActivateAsync(PeerChannel channel, CancellationToken cancellationToken)
    {
        if (TrustPolicy.RunDefaultTrustProtocol && TrustPolicy.DefaultTrustProtocol is { } protocol)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            timeout.CancelAfter(Options.TrustProtocolTimeout);
            try
            {
                await protocol(channel, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                PeersLog.TrustProtocolFailed(_logger, channel.Identifier, ex.Message);
                await channel.ClosePeerChannelAsync("trust protocol failed", CancellationToken.None).ConfigureAwait(false);
                throw new PeerNetworkException(PeerNetworkError.TrustRejected, $"the trust protocol with {channel.Identifier} failed: {ex.Message}", ex);
            }
            if (channel.State is PeerChannelState.Closing or PeerChannelState.Closed)
                throw new PeerNetworkException(PeerNetworkError.TrustRejected, $"the trust protocol closed the channel with {channel.Identifier}");
        }
        channel.StopKeepingUnclaimed();
        _active[channel.Identifier] = channel;
        if (channel.State == PeerChannelState.Closed)
        {
            _active.TryRemove(new KeyValuePair<PeerId, PeerChannel>(channel.Identifier, channel));
            throw new PeerNetworkException(PeerNetworkError.Stopped, $"the channel with {channel.Identifier} closed while opening");
        }
        PeersLog.ChannelOpened(_logger, channel.Identifier, channel.Direction);
        Raise(PeerAdded, channel, nameof(PeerAdded));
        // A direct connection that came up while the channel opened on a relayed one found no channel to move.
        MoveIfDirect(channel);
    }
}
