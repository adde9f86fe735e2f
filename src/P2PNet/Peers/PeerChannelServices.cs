namespace P2PNet.Peers;

/// <summary>
/// What a <see cref="PeerChannel"/> needs from its owner, injected once per network and shared by all its channels:
/// the settings and counters, the packet handlers, the network-wide packet event, the callback when a channel
/// closes for good, a delegate that reopens a session of an outbound channel, and one that opens a channel with a
/// peer again. The channel holds no reference to <see cref="PeerNetwork"/>.
/// </summary>
internal sealed class PeerChannelServices(
    PeerNetworkOptions options,
    PeerNetworkMetrics metrics,
    PacketHandleProtocol handlers,
    Func<bool> hasPacketListeners,
    Action<PacketReceivedEventArgs> packetReceived,
    Action<PeerChannel, bool> closed,
    Func<PeerChannel, CancellationToken, Task<PeerChannel.Session>> reopen,
    Func<IPeer, CancellationToken, Task<PeerChannel>> open,
    Action<PacketsLostEventArgs> packetsLost,
    Action<ChannelReopenEventArgs> reopening,
    Action<ChannelReopenEventArgs> reopened)
{
    public PeerNetworkOptions Options => options;

    public PeerNetworkMetrics Metrics => metrics;

    /// <summary>The network's packet handlers: the channel invokes the one of each packet's type.</summary>
    public PacketHandleProtocol Handlers => handlers;

    /// <summary>True when someone listens to the network-wide packet event (so its args are worth allocating).</summary>
    public bool HasPacketListeners => hasPacketListeners();

    /// <summary>Raises the network-wide packet event.</summary>
    public void PacketReceived(PacketReceivedEventArgs args) => packetReceived(args);

    /// <summary>The channel closed for good; <c>gaveUp</c> when it stopped reconnecting after its last retry.</summary>
    public void Closed(PeerChannel channel, bool gaveUp) => closed(channel, gaveUp);

    /// <summary>Dials the channel's peer again and opens a new session (reconnects).</summary>
    public Task<PeerChannel.Session> ReopenAsync(PeerChannel channel, CancellationToken cancellationToken) => reopen(channel, cancellationToken);

    /// <summary>Raises the network-wide event for packets the peer never acknowledged.</summary>
    public void PacketsLost(PacketsLostEventArgs args) => packetsLost(args);

    /// <summary>Raises the network-wide event: a channel's session is about to reopen on another connection.</summary>
    public void Reopening(ChannelReopenEventArgs args) => reopening(args);

    /// <summary>Raises the network-wide event: a channel's session reopened on another connection.</summary>
    public void Reopened(ChannelReopenEventArgs args) => reopened(args);

    /// <summary>Opens (or returns) a channel with the peer.</summary>
    public Task<PeerChannel> OpenAsync(IPeer peer, CancellationToken cancellationToken) => open(peer, cancellationToken);
}
