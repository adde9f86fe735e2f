using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Peers;

/// <summary>
/// <see cref="PeerNetwork.KnownPeers"/> as a view of the host's one <see cref="PeerStore"/>: a known peer is a stored
/// peer that carries its <see cref="GenericPeer"/>, at most a fixed number of them. Every change (the capacity check,
/// dropping the stalest known peer without a channel, the add, and the addresses written with it) is one step under
/// the store's lock, so concurrent callers cannot push the count past the cap, and discovery, peer exchange,
/// bootstrap, identify and the channels all write to the same entries.
/// </summary>
internal sealed class KnownPeerStore(PeerStore store, int capacity, Func<PeerId, bool> isInUse)
{
    private readonly AttachmentRules _rules = new(capacity, isInUse, static peer => ((GenericPeer)peer).LastSeen);

    /// <summary>The host's peer store underneath.</summary>
    public PeerStore Store => store;

    /// <summary>How many peers are known.</summary>
    public int Count => store.AttachedCount;

    /// <summary>A copy of the known peers.</summary>
    public GenericPeer[] Snapshot() => store.Attachments<GenericPeer>();

    public bool Contains(PeerId identifier) => store.HasAttachment(identifier);

    public bool TryGet(PeerId identifier, out GenericPeer peer)
    {
        bool found = store.TryGetAttachment<GenericPeer>(identifier, out var known);
        peer = known!;
        return found;
    }

    /// <summary>
    /// Adds <paramref name="peer"/>, or makes it the entry for its identifier, writing its addresses to the store as
    /// <paramref name="source"/>. When full, the stalest peer without a channel stops being known first; when every
    /// known peer has one, nothing is added. Returns what happened.
    /// </summary>
    public KnownPeerChange Add(GenericPeer peer, AddressSource source = AddressSource.Identify) =>
        store.Attach<GenericPeer>(peer.Identifier, peer, null, _rules, peer.Addresses, source, out _) switch
        {
            AttachOutcome.Present => KnownPeerChange.Present,
            AttachOutcome.Replaced => KnownPeerChange.Replaced,
            AttachOutcome.Added => KnownPeerChange.Added,
            _ => KnownPeerChange.Full,
        };

    /// <summary>
    /// The known peer for <paramref name="identifier"/>, or a new one made by <paramref name="create"/> and added (when
    /// there is room); <paramref name="added"/> tells which. A peer that found no room is returned but not kept.
    /// <paramref name="addresses"/> are written to the store as <paramref name="source"/> in the same step.
    /// </summary>
    public GenericPeer GetOrAdd(PeerId identifier, Func<GenericPeer> create, out bool added,
        IReadOnlyCollection<Multiaddr>? addresses = null, AddressSource source = AddressSource.Identify)
    {
        added = store.Attach<GenericPeer>(identifier, null, create, _rules, addresses, source, out var peer) == AttachOutcome.Added;
        return peer;
    }

    /// <summary>Stops knowing <paramref name="peer"/> if it is still the entry for its identifier (its store entry stays).</summary>
    public bool Remove(GenericPeer peer) => store.Detach(peer.Identifier, peer, forget: false);

    /// <summary>Stops knowing whatever entry <paramref name="identifier"/> has (its store entry stays).</summary>
    public bool Remove(PeerId identifier) => store.Detach(identifier, null, forget: false);

    /// <summary>
    /// A refused peer: stops knowing <paramref name="peer"/> (if it is still the entry) and drops its store entry too,
    /// at once or when its last connection closes.
    /// </summary>
    public bool Forget(GenericPeer peer) => store.Detach(peer.Identifier, peer, forget: true);
}

/// <summary>The outcome of <see cref="KnownPeerStore.Add"/>.</summary>
internal enum KnownPeerChange
{
    /// <summary>It was already the entry.</summary>
    Present,
    /// <summary>It replaced another object for the same identifier.</summary>
    Replaced,
    /// <summary>It is new in the store.</summary>
    Added,
    /// <summary>The store is full of connected peers: not added.</summary>
    Full,
}
