using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Peers.Packets;
using P2PNet.Swarm;

namespace P2PNet.Peers;

// KnownPeers and the default packet handlers of PacketHandleProtocol.
public sealed partial class PeerNetwork
{
    // A lookup, not a scan of KnownPeers (which copies the list).
    internal bool IsKnown(PeerId identifier) => _known.Contains(identifier);

    // Connected or being opened: never evicted to make room.
    private bool IsInUse(PeerId identifier) => _active.ContainsKey(identifier) || _opening.ContainsKey(identifier);

    private GenericPeer Remember(PeerId identifier, IEnumerable<Multiaddr> addresses, string source) =>
        Remember(identifier, addresses, source, out _);

    /// <summary>
    /// The known peer for <paramref name="identifier"/> with <paramref name="addresses"/> merged in, or a new one added
    /// (raising KnownPeerAdded); <paramref name="added"/> is true when this call added it.
    /// </summary>
    private GenericPeer Remember(PeerId identifier, IEnumerable<Multiaddr> addresses, string source, out bool added)
    {
        var list = addresses as IReadOnlyCollection<Multiaddr> ?? [.. addresses];
        // The peer and its addresses go into the host's peer store in one step (KnownPeers is its view).
        var peer = _known.GetOrAdd(identifier, () => new GenericPeer(identifier, list) { Source = source }, out added, list, AddressSourceOf(source));
        if (added) Raise(KnownPeerAdded, (IPeer)peer, nameof(KnownPeerAdded));
        else peer.MergeAddresses(list);
        return peer;
    }

    /// <summary>Adds a peer to KnownPeers (evicting the stalest unconnected one when full); true when it is new there.</summary>
    private bool Remember(GenericPeer peer)
    {
        var change = _known.Add(peer, AddressSourceOf(peer.Source));
        if (change == KnownPeerChange.Added) Raise(KnownPeerAdded, (IPeer)peer, nameof(KnownPeerAdded));
        return change == KnownPeerChange.Added;
    }

    // Where the peer store says an address came from: hearsay (discovery, peer exchange, a bootstrap server) or the
    // peer itself (its hello on a channel, as identify would), or our own dial.
    private static AddressSource AddressSourceOf(string source) => source switch
    {
        DiscoverySources.Exchange => AddressSource.Exchange,
        "bootstrap" => AddressSource.Bootstrap,
        "outbound" => AddressSource.Dial,
        "inbound" => AddressSource.Identify,
        _ => AddressSource.Discovery, // mdns, broadcast, an application's own discovery

    };

    /// <summary>
    /// Drops a refused peer from KnownPeers and from the host's peer store, but only when this attempt added it: a peer
    /// known before for another reason (discovered, from a bootstrap server, shared by a peer, an earlier channel)
    /// keeps its entry. A refused peer's connection is closing; its store entry goes at the latest when it has closed.
    /// </summary>
    private void ForgetRefused(GenericPeer peer, bool addedByThisAttempt)
    {
        if (addedByThisAttempt) _known.Forget(peer);
    }

    // What a hello says goes to the peer and, for a known peer, to the host's peer store.
    private void Learn(GenericPeer peer, ChannelHello hello)
    {
        var addresses = ParseAddresses(hello.Addresses);
        peer.MergeAddresses(addresses, hello.DisplayName);
        if (addresses.Count > 0 && _known.Contains(peer.Identifier)) Host.PeerStore.AddAddresses(peer.Identifier, addresses, AddressSource.Identify);
    }

    private static List<Multiaddr> ParseAddresses(IEnumerable<string>? texts)
    {
        var result = new List<Multiaddr>();
        foreach (var text in texts ?? [])
        {
            if (result.Count >= GenericPeer.MaxAddresses) break;
            if (Multiaddr.TryParse(text, out var address) && address.TcpTarget is not null) result.Add(address);
        }
        return result;
    }

    private void HandleIdentity(PeerChannel channel, IdentityPacket packet)
    {
        if (packet.Identifier != channel.Identifier.ToString())
        {
            // Identifiers are bound to keys: a peer can only speak for itself.
            PeersLog.IdentityIgnored(_logger, channel.Identifier, $"it claims to be {packet.Identifier}");
            return;
        }
        var peer = (GenericPeer)channel.Peer;
        peer.MergeAddresses(ParseAddresses(packet.Addresses), packet.DisplayName);
        Remember(peer);
    }

    private void HandleDisconnect(PeerChannel channel, DisconnectPacket packet)
    {
        PeersLog.ChannelClosing(_logger, channel.Identifier, packet.Reason ?? "no reason given");
        _ = channel.ShutdownAsync($"peer disconnected: {packet.Reason}");
    }

    private void HandlePeerGroup(PeerChannel channel, CollectionSharePacket packet)
    {
        int merged = 0, skipped = 0;
        foreach (var record in packet.Peers)
        {
            // AddKnownPeer refuses ourselves, blocked peers and peers left without an unblocked address.
            if (PeerId.TryParse(record.Identifier, out var id) && AddKnownPeer(id, ParseAddresses(record.Addresses), DiscoverySources.Exchange) is not null) merged++;
            else skipped++;
        }
        PeersLog.PeersMerged(_logger, channel.Identifier, merged, skipped);
    }

    private void HandleDataTransmission(PeerChannel channel, DataTransmissionPacket packet) =>
        Raise(DataTransmissionReceived, new DataTransmissionReceivedEventArgs(channel, packet), nameof(DataTransmissionReceived));

    private void HandlePureMessage(PeerChannel channel, PureMessagePacket packet)
    {
        if (_logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information))
            PeersLog.MessageReceived(_logger, channel.Identifier, packet.Preview(200)); // decodes only what it logs
        Raise(MessageReceived, new PureMessageReceivedEventArgs(channel, packet), nameof(MessageReceived));
    }
}
