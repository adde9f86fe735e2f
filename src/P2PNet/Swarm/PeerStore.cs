using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>
/// What the host knows about other peers (go-libp2p's peerstore as the model): addresses with their source
/// and TTL, public key, protocols and agent from identify, and the last dial error. Bounded by
/// <see cref="PeerStoreOptions.Capacity"/>: every change happens under one lock, so concurrent writers can
/// never push it past the cap; the least recently updated peer without a live connection is evicted, and a
/// connected peer never is. Entries are immutable snapshots; events are raised outside the lock.
/// </summary>
public sealed class PeerStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<PeerId, Slot> _peers = [];
    // Least recently updated first: eviction walks from the front, skipping connected peers.
    private readonly LinkedList<PeerId> _recency = new();
    private readonly Dictionary<PeerId, int> _connected = [];
    private readonly PeerId? _self;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private long _lastFullLog;

    /// <summary>Creates an empty store. <paramref name="self"/>, when given, is never stored.</summary>
    public PeerStore(PeerStoreOptions? options = null, PeerId? self = null, ILogger? logger = null)
    {
        Options = options ?? new PeerStoreOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.Capacity, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.MaxAddressesPerPeer, 1, nameof(options));
        _self = self;
        _time = Options.TimeProvider;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The settings.</summary>
    public PeerStoreOptions Options { get; }

    /// <summary>Most peers kept.</summary>
    public int Capacity => Options.Capacity;

    /// <summary>Peers stored now (never above <see cref="Capacity"/>).</summary>
    public int Count
    {
        get { lock (_lock) return _peers.Count; }
    }

    /// <summary>Raised after a peer was added.</summary>
    public event EventHandler<PeerStoreEntry>? PeerAdded;

    /// <summary>Raised after a stored peer changed; carries the new snapshot.</summary>
    public event EventHandler<PeerStoreEntry>? PeerUpdated;

    /// <summary>Raised after a peer was removed or evicted; carries its last snapshot.</summary>
    public event EventHandler<PeerStoreEntry>? PeerRemoved;

    /// <summary>What the store knows about <paramref name="peer"/>, without expired addresses.</summary>
    public bool TryGet(PeerId peer, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PeerStoreEntry? entry)
    {
        ArgumentNullException.ThrowIfNull(peer);
        lock (_lock)
        {
            if (_peers.TryGetValue(peer, out var slot))
            {
                entry = Live(slot.Entry, _time.GetUtcNow());
                return true;
            }
        }
        entry = null;
        return false;
    }

    /// <summary>True when <paramref name="peer"/> is stored.</summary>
    public bool Contains(PeerId peer)
    {
        lock (_lock) return _peers.ContainsKey(peer);
    }

    /// <summary>The unexpired addresses of <paramref name="peer"/> (empty when unknown).</summary>
    public IReadOnlyList<Multiaddr> GetAddresses(PeerId peer) => TryGet(peer, out var entry) ? entry.Multiaddrs : [];

    /// <summary>True while the host has a live connection to <paramref name="peer"/> (such a peer is never evicted).</summary>
    public bool IsConnected(PeerId peer)
    {
        lock (_lock) return _connected.ContainsKey(peer);
    }

    /// <summary>
    /// Adds or refreshes addresses of <paramref name="peer"/> (added when new). An address already known keeps
    /// the later of its two expiries. <paramref name="ttl"/> defaults to the source's
    /// (<see cref="PeerStoreOptions.DefaultTtl"/>). Addresses ending in another peer's <c>/p2p/</c> are skipped.
    /// Returns false when the peer is ourselves or the store is full of connected peers.
    /// </summary>
    public bool AddAddresses(PeerId peer, IEnumerable<Multiaddr> addresses, AddressSource source, TimeSpan? ttl = null)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(addresses);
        var lifetime = ttl ?? Options.DefaultTtl(source);
        Multiaddr[] list = [.. addresses.Where(a => a is not null && (a.PeerId is null || a.PeerId == peer)).Select(a => a.WithoutPeerId()).Distinct()];
        return Mutate(peer, create: true, (entry, now) =>
        {
            var expires = Expiry(now, lifetime);
            var merged = entry.Addresses.ToDictionary(a => a.Address);
            bool changed = false;
            foreach (var address in list)
            {
                if (merged.TryGetValue(address, out var known) && known.Expires >= expires && known.Source == source) continue;
                merged[address] = known is not null && known.Expires > expires ? known with { Source = source } : new PeerAddress(address, source, expires);
                changed = true;
            }
            return changed ? entry with { Addresses = Cap(merged.Values) } : null;
        });
    }

    /// <summary>Adds or refreshes one address; see <see cref="AddAddresses"/>.</summary>
    public bool AddAddress(PeerId peer, Multiaddr address, AddressSource source, TimeSpan? ttl = null) =>
        AddAddresses(peer, [address ?? throw new ArgumentNullException(nameof(address))], source, ttl);

    /// <summary>Forgets one address of <paramref name="peer"/>; false when it was not stored.</summary>
    public bool RemoveAddress(PeerId peer, Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var bare = address.WithoutPeerId();
        bool removed = false;
        Mutate(peer, create: false, (entry, _) =>
        {
            if (!entry.Addresses.Any(a => a.Address.Equals(bare))) return null;
            removed = true;
            return entry with { Addresses = [.. entry.Addresses.Where(a => !a.Address.Equals(bare))] };
        });
        return removed;
    }

    /// <summary>Records the public key of <paramref name="peer"/> (adding the peer when new).</summary>
    /// <exception cref="ArgumentException">The key is not <paramref name="peer"/>'s.</exception>
    public bool SetPublicKey(PeerId peer, PublicKey key)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(key);
        if (!peer.Matches(key)) throw new ArgumentException($"the key belongs to {key.ToPeerId()}, not {peer}", nameof(key));
        return Mutate(peer, create: true, (entry, _) => entry.PublicKey is null ? entry with { PublicKey = key } : null);
    }

    /// <summary>
    /// Records what <paramref name="peer"/> said in identify: its key (checked against the PeerId), its listen
    /// addresses (they replace the earlier identify addresses; other sources stay), protocols and versions.
    /// </summary>
    /// <exception cref="ArgumentException">The key is not <paramref name="peer"/>'s.</exception>
    public bool RecordIdentify(PeerId peer, PublicKey? key, IReadOnlyList<Multiaddr> listenAddresses, IReadOnlyList<string> protocols,
        string? agentVersion, string? protocolVersion)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(listenAddresses);
        ArgumentNullException.ThrowIfNull(protocols);
        if (key is not null && !peer.Matches(key)) throw new ArgumentException($"the key belongs to {key.ToPeerId()}, not {peer}", nameof(key));
        Multiaddr[] addrs = [.. listenAddresses.Where(a => a is not null && (a.PeerId is null || a.PeerId == peer)).Select(a => a.WithoutPeerId()).Distinct()];
        string[] protos = [.. protocols.Where(p => !string.IsNullOrEmpty(p)).Distinct(StringComparer.Ordinal).Take(Options.MaxProtocolsPerPeer)];
        return Mutate(peer, create: true, (entry, now) =>
        {
            var expires = Expiry(now, Options.IdentifyAddressTtl);
            var merged = entry.Addresses.Where(a => a.Source != AddressSource.Identify).ToDictionary(a => a.Address);
            foreach (var address in addrs)
            {
                merged[address] = merged.TryGetValue(address, out var known) && known.Expires > expires
                    ? known with { Source = AddressSource.Identify }
                    : new PeerAddress(address, AddressSource.Identify, expires);
            }
            return entry with
            {
                PublicKey = key ?? entry.PublicKey,
                Addresses = Cap(merged.Values),
                Protocols = protos,
                AgentVersion = agentVersion ?? entry.AgentVersion,
                ProtocolVersion = protocolVersion ?? entry.ProtocolVersion,
            };
        });
    }

    /// <summary>
    /// Records the outcome of a dial to a stored peer: the failure, or null after a success (clears the last
    /// error). A peer that is not stored is not added for it (false).
    /// </summary>
    public bool SetLastDialError(PeerId peer, DialException? error) =>
        Mutate(peer, create: false, (entry, _) =>
            ReferenceEquals(entry.LastDialError, error) ? null : entry with { LastDialError = error });

    /// <summary>Removes <paramref name="peer"/>, connected or not; false when it was not stored.</summary>
    public bool Remove(PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        PeerStoreEntry removed;
        lock (_lock)
        {
            if (!_peers.Remove(peer, out var slot)) return false;
            _recency.Remove(slot.Node);
            removed = slot.Entry;
        }
        Raise(PeerRemoved, removed, nameof(PeerRemoved));
        return true;
    }

    /// <summary>A snapshot of every stored peer, least recently updated first.</summary>
    public IReadOnlyList<PeerStoreEntry> Snapshot()
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            return [.. _recency.Select(p => Live(_peers[p].Entry, now))];
        }
    }

    // The host counts live connections per peer; a peer with any is never evicted.
    internal void OnConnected(PeerId peer, PublicKey key)
    {
        lock (_lock) _connected[peer] = _connected.GetValueOrDefault(peer) + 1;
        if (peer != _self && peer.Matches(key)) SetPublicKey(peer, key);
    }

    internal void OnDisconnected(PeerId peer)
    {
        lock (_lock)
        {
            int left = _connected.GetValueOrDefault(peer) - 1;
            if (left > 0)
            {
                _connected[peer] = left;
                return;
            }
            _connected.Remove(peer);
            if (_peers.TryGetValue(peer, out var slot))
            {
                var until = Expiry(_time.GetUtcNow(), Options.RecentlyConnectedAddressTtl);
                slot.Entry = slot.Entry with { Addresses = [.. slot.Entry.Addresses.Select(a => a.Expires < until ? a with { Expires = until } : a)] };
            }
        }
    }

    /// <summary>
    /// Applies <paramref name="change"/> (which returns null for "nothing changed") to the peer's entry under the
    /// lock, creating the entry when <paramref name="create"/> and there is room (evicting if need be).
    /// </summary>
    private bool Mutate(PeerId peer, bool create, Func<PeerStoreEntry, DateTimeOffset, PeerStoreEntry?> change)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (peer == _self) return false;
        PeerStoreEntry? added = null, updated = null, evicted = null;
        bool full = false;
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (_peers.TryGetValue(peer, out var slot))
            {
                if (change(Live(slot.Entry, now), now) is not { } next) return true;
                slot.Entry = next with { Updated = now };
                _recency.Remove(slot.Node);
                _recency.AddLast(slot.Node);
                updated = slot.Entry;
            }
            else
            {
                if (!create) return false;
                if (_peers.Count >= Options.Capacity && (evicted = EvictOne()) is null)
                {
                    full = true;
                }
                else
                {
                    var fresh = new PeerStoreEntry { PeerId = peer, Updated = now };
                    var entry = (change(fresh, now) ?? fresh) with { Updated = now };
                    _peers[peer] = new Slot(entry, _recency.AddLast(peer));
                    added = entry;
                }
            }
        }
        if (full)
        {
            // Once a minute at most: a flood of new peers must not flood the log.
            long tick = Environment.TickCount64;
            long last = Interlocked.Read(ref _lastFullLog);
            if (tick - last > 60_000 && Interlocked.CompareExchange(ref _lastFullLog, tick, last) == last)
                SwarmDialLog.PeerStoreFull(_logger, Options.Capacity, peer);
            return false;
        }
        if (evicted is not null) Raise(PeerRemoved, evicted, nameof(PeerRemoved));
        if (added is not null) Raise(PeerAdded, added, nameof(PeerAdded));
        if (updated is not null) Raise(PeerUpdated, updated, nameof(PeerUpdated));
        return true;
    }

    // Under the lock: the least recently updated peer without a live connection, removed; null when all are connected.
    private PeerStoreEntry? EvictOne()
    {
        for (var node = _recency.First; node is not null; node = node.Next)
        {
            if (_connected.ContainsKey(node.Value)) continue;
            var slot = _peers[node.Value];
            _peers.Remove(node.Value);
            _recency.Remove(node);
            return slot.Entry;
        }
        return null;
    }

    private IReadOnlyList<PeerAddress> Cap(IEnumerable<PeerAddress> addresses) =>
        [.. addresses.OrderByDescending(a => a.Expires).Take(Options.MaxAddressesPerPeer)];

    private static DateTimeOffset Expiry(DateTimeOffset now, TimeSpan ttl) =>
        ttl == Timeout.InfiniteTimeSpan || ttl >= DateTimeOffset.MaxValue - now ? DateTimeOffset.MaxValue : now + ttl;

    // Under the lock. A connected peer's addresses do not expire (go's ConnectedAddrTTL); OnDisconnected gives them a grace.
    private PeerStoreEntry Live(PeerStoreEntry entry, DateTimeOffset now) =>
        _connected.ContainsKey(entry.PeerId) || entry.Addresses.All(a => a.Expires > now)
            ? entry
            : entry with { Addresses = [.. entry.Addresses.Where(a => a.Expires > now)] };

    private void Raise(EventHandler<PeerStoreEntry>? handler, PeerStoreEntry entry, string name)
    {
        try
        {
            handler?.Invoke(this, entry);
        }
        catch (Exception ex)
        {
            SwarmLog.EventHandlerFailed(_logger, name, ex.Message);
        }
    }

    private sealed class Slot(PeerStoreEntry entry, LinkedListNode<PeerId> node)
    {
        public PeerStoreEntry Entry { get; set; } = entry;
        public LinkedListNode<PeerId> Node { get; } = node;
    }
}
