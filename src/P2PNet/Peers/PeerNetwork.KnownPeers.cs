using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Peers.Packets;

namespace P2PNet.Peers;

// KnownPeers and the default packet handlers of PacketHandleProtocol.
public sealed partial class PeerNetwork
{
    // A lookup, not a scan of KnownPeers (which copies the list).
    internal bool IsKnown(PeerId identifier) => _known.ContainsKey(identifier);

    private GenericPeer Remember(PeerId identifier, IEnumerable<Multiaddr> addresses, string source)
    {
        if (_known.TryGetValue(identifier, out var known))
        {
            known.MergeAddresses(addresses);
            return known;
        }
        // Through Remember(GenericPeer): a new peer must raise KnownPeerAdded and respect MaxKnownPeers.
        var peer = new GenericPeer(identifier, addresses) { Source = source };
        Remember(peer);
        if (_known.TryGetValue(identifier, out var present) && !ReferenceEquals(present, peer))
        {
            present.MergeAddresses(addresses); // added concurrently
            return present;
        }
        return peer;
    }

    /// <summary>Adds a peer to KnownPeers (evicting the stalest unconnected one when full).</summary>
    private void Remember(GenericPeer peer)
    {
        if (_known.TryGetValue(peer.Identifier, out var present) && ReferenceEquals(present, peer)) return;
        if (_known.Count >= Options.MaxKnownPeers)
        {
            var stalest = _known.Values.Where(p => !_active.ContainsKey(p.Identifier)).MinBy(p => p.LastSeen);
            if (stalest is null) return; // every known peer is connected: keep them
            _known.TryRemove(new KeyValuePair<PeerId, GenericPeer>(stalest.Identifier, stalest));
        }
        if (_known.TryAdd(peer.Identifier, peer)) Raise(KnownPeerAdded, (IPeer)peer, nameof(KnownPeerAdded));
        else _known[peer.Identifier] = peer;
    }

    private static void Learn(GenericPeer peer, ChannelHello hello) =>
        peer.MergeAddresses(ParseAddresses(hello.Addresses), hello.DisplayName);

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

    internal void HandleIdentity(PeerChannel channel, IdentityPacket packet)
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

    internal void HandleDisconnect(PeerChannel channel, DisconnectPacket packet)
    {
        PeersLog.ChannelClosing(_logger, channel.Identifier, packet.Reason ?? "no reason given");
        _ = channel.ShutdownAsync($"peer disconnected: {packet.Reason}");
    }

    internal void HandlePeerGroup(PeerChannel channel, CollectionSharePacket packet)
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

    internal void HandleDataTransmission(PeerChannel channel, DataTransmissionPacket packet) =>
        Raise(DataTransmissionReceived, new DataTransmissionReceivedEventArgs(channel, packet), nameof(DataTransmissionReceived));

    internal void HandlePureMessage(PeerChannel channel, PureMessagePacket packet)
    {
        if (_logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information))
            PeersLog.MessageReceived(_logger, channel.Identifier, packet.Message.Length > 200 ? packet.Message[..200] + "…" : packet.Message);
        Raise(MessageReceived, new PureMessageReceivedEventArgs(channel, packet.Message), nameof(MessageReceived));
    }
}
