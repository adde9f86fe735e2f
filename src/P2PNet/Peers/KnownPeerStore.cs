using P2PNet.Core;

namespace P2PNet.Peers;

/// <summary>
/// The peers behind <see cref="PeerNetwork.KnownPeers"/>, at most a fixed number. Every change (the capacity check,
/// the eviction of the stalest unconnected peer and the add) is one step under a lock, so concurrent callers cannot
/// evict the same peer and all add: the count never exceeds the cap. The one place to redirect once the host keeps a
/// peer store of its own.
/// </summary>
internal sealed class KnownPeerStore(int capacity, Func<PeerId, bool> isConnected)
{
    private readonly Lock _sync = new();
    private readonly Dictionary<PeerId, GenericPeer> _peers = [];

    /// <summary>How many peers are known.</summary>
    public int Count
    {
        get { lock (_sync) return _peers.Count; }
    }

    /// <summary>A copy of the known peers.</summary>
    public GenericPeer[] Snapshot()
    {
        lock (_sync) return [.. _peers.Values];
    }

    public bool Contains(PeerId identifier)
    {
        lock (_sync) return _peers.ContainsKey(identifier);
    }

    public bool TryGet(PeerId identifier, out GenericPeer peer)
    {
        lock (_sync) return _peers.TryGetValue(identifier, out peer!);
    }

    /// <summary>
    /// Adds <paramref name="peer"/>, or makes it the entry for its identifier. When full, the stalest peer without a
    /// channel is evicted first; when every known peer has one, nothing is added. Returns what happened.
    /// </summary>
    public KnownPeerChange Add(GenericPeer peer)
    {
        lock (_sync)
        {
            if (_peers.TryGetValue(peer.Identifier, out var present))
            {
                if (ReferenceEquals(present, peer)) return KnownPeerChange.Present;
                _peers[peer.Identifier] = peer;
                return KnownPeerChange.Replaced;
            }
            if (_peers.Count >= capacity && !EvictStalest()) return KnownPeerChange.Full;
            _peers.Add(peer.Identifier, peer);
            return KnownPeerChange.Added;
        }
    }

    /// <summary>
    /// The known peer for <paramref name="identifier"/>, or a new one made by <paramref name="create"/> and added (when
    /// there is room); <paramref name="added"/> tells which. A peer that found no room is returned but not kept.
    /// </summary>
    public GenericPeer GetOrAdd(PeerId identifier, Func<GenericPeer> create, out bool added)
    {
        lock (_sync)
        {
            added = false;
            if (_peers.TryGetValue(identifier, out var present)) return present;
            var peer = create();
            if (_peers.Count >= capacity && !EvictStalest()) return peer;
            _peers.Add(identifier, peer);
            added = true;
            return peer;
        }
    }

    /// <summary>Removes <paramref name="peer"/> if it is still the entry for its identifier.</summary>
    public bool Remove(GenericPeer peer)
    {
        lock (_sync)
        {
            if (!_peers.TryGetValue(peer.Identifier, out var present) || !ReferenceEquals(present, peer)) return false;
            return _peers.Remove(peer.Identifier);
        }
    }

    /// <summary>Removes whatever entry <paramref name="identifier"/> has.</summary>
    public bool Remove(PeerId identifier)
    {
        lock (_sync) return _peers.Remove(identifier);
    }

    // Under _sync. O(n) over at most `capacity` peers, only when full.
    private bool EvictStalest()
    {
        GenericPeer? stalest = null;
        foreach (var candidate in _peers.Values)
        {
            if (isConnected(candidate.Identifier)) continue;
            if (stalest is null || candidate.LastSeen < stalest.LastSeen) stalest = candidate;
        }
        return stalest is not null && _peers.Remove(stalest.Identifier);
    }
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
