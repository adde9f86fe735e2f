using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>
/// What the host knows about other peers (go-libp2p's peerstore as the model): addresses with their source
/// and TTL, public key, protocols and agent from identify, and the last dial error. Bounded by
/// <see cref="PeerStoreOptions.Capacity"/>: every change happens under one lock, so concurrent writers can
/// never push it past the cap. A connected peer is never evicted; otherwise hearsay (a peer only heard of through
/// discovery, peer exchange or a bootstrap server, never connected) goes first, then peers we connected to or were
/// told of by the application, then peers a layer above keeps (the peer network's known peers), each least recently
/// updated first. A peer that only connected to us gets a provisional entry while it stays connected, and only when
/// there is room: it never evicts anyone, and it is dropped when its last connection closes unless something vouched
/// for it meanwhile (we dialed it, the application added it, the peer network accepted it). So throwaway keys
/// dialing in cannot push real peers out. Entries are immutable snapshots; events are raised outside the lock.
/// </summary>
public sealed class PeerStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<PeerId, Slot> _peers = [];
    // Least recently updated first: eviction walks from the front, skipping connected peers.
    private readonly LinkedList<PeerId> _recency = new();
    private readonly Dictionary<PeerId, Connections> _connected = [];
    private int _attached;
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
        var list = Normalize(peer, addresses);
        return Mutate(peer, StandingOf(source), (entry, now) => MergeAddresses(entry, list, source, lifetime, now));
    }

    // Null when nothing changed.
    private PeerStoreEntry? MergeAddresses(PeerStoreEntry entry, Multiaddr[] list, AddressSource source, TimeSpan lifetime, DateTimeOffset now)
    {
        if (list.Length == 0) return null;
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
    }

    // Addresses of this peer only, without /p2p/, de-duplicated.
    private static Multiaddr[] Normalize(PeerId peer, IEnumerable<Multiaddr> addresses) =>
        [.. addresses.Where(a => a is not null && (a.PeerId is null || a.PeerId == peer)).Select(a => a.WithoutPeerId()).Distinct()];

    // Hearsay sources create hearsay entries; the rest vouch for the peer.
    private static Standing StandingOf(AddressSource source) =>
        source is AddressSource.Discovery or AddressSource.Exchange or AddressSource.Bootstrap ? Standing.Hearsay : Standing.Vouched;

    /// <summary>Adds or refreshes one address; see <see cref="AddAddresses"/>.</summary>
    public bool AddAddress(PeerId peer, Multiaddr address, AddressSource source, TimeSpan? ttl = null) =>
        AddAddresses(peer, [address ?? throw new ArgumentNullException(nameof(address))], source, ttl);

    /// <summary>Forgets one address of <paramref name="peer"/>; false when it was not stored.</summary>
    public bool RemoveAddress(PeerId peer, Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var bare = address.WithoutPeerId();
        bool removed = false;
        Mutate(peer, null, (entry, _) =>
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
        return Mutate(peer, Standing.Vouched, (entry, _) => entry.PublicKey is null ? entry with { PublicKey = key } : null);
    }

    /// <summary>
    /// Records what <paramref name="peer"/> said in identify: its key (checked against the PeerId), its listen
    /// addresses (they replace the earlier identify addresses; other sources stay), protocols and versions. Identify
    /// runs over a connection: a peer not stored yet is added only while connected (an answer that arrives after the
    /// connection closed adds nothing), provisionally when it connected to us only inbound (see the class remarks).
    /// </summary>
    /// <exception cref="ArgumentException">The key is not <paramref name="peer"/>'s.</exception>
    public bool RecordIdentify(PeerId peer, PublicKey? key, IReadOnlyList<Multiaddr> listenAddresses, IReadOnlyList<string> protocols,
        string? agentVersion, string? protocolVersion)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(listenAddresses);
        ArgumentNullException.ThrowIfNull(protocols);
        if (key is not null && !peer.Matches(key)) throw new ArgumentException($"the key belongs to {key.ToPeerId()}, not {peer}", nameof(key));
        var addrs = Normalize(peer, listenAddresses);
        string[] protos = [.. protocols.Where(p => !string.IsNullOrEmpty(p)).Distinct(StringComparer.Ordinal).Take(Options.MaxProtocolsPerPeer)];
        return Mutate(peer, StandingOfConnected(peer), (entry, now) =>
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
        Mutate(peer, null, (entry, _) =>
            ReferenceEquals(entry.LastDialError, error) ? null : entry with { LastDialError = error });

    /// <summary>Removes <paramref name="peer"/>, connected or not; false when it was not stored.</summary>
    public bool Remove(PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        PeerStoreEntry removed;
        lock (_lock)
        {
            if (!_peers.TryGetValue(peer, out var slot)) return false;
            removed = RemoveLocked(slot);
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

    // The host counts live connections per peer, by direction; a peer with any is never evicted. A peer that
    // connected only inbound is not stored for that alone: it gets a provisional entry, only when there is room.
    internal void OnConnected(PeerId peer, PublicKey key, ConnectionDirection direction = ConnectionDirection.Outbound)
    {
        lock (_lock)
        {
            var counts = _connected.GetValueOrDefault(peer);
            _connected[peer] = direction == ConnectionDirection.Outbound ? counts with { Outbound = counts.Outbound + 1 } : counts with { Inbound = counts.Inbound + 1 };
            // Connected to it: no longer hearsay (a provisional entry stays provisional until something vouches for it).
            if (_peers.TryGetValue(peer, out var slot) && (slot.Standing == Standing.Hearsay || direction == ConnectionDirection.Outbound))
                slot.Standing = Standing.Vouched;
        }
        if (peer != _self && peer.Matches(key))
            Mutate(peer, direction == ConnectionDirection.Outbound ? Standing.Vouched : Standing.Provisional,
                (entry, _) => entry.PublicKey is null ? entry with { PublicKey = key } : null);
    }

    internal void OnDisconnected(PeerId peer, ConnectionDirection direction = ConnectionDirection.Outbound)
    {
        PeerStoreEntry? dropped = null;
        lock (_lock)
        {
            var counts = _connected.GetValueOrDefault(peer);
            counts = direction == ConnectionDirection.Inbound && counts.Inbound > 0 || counts.Outbound == 0
                ? counts with { Inbound = counts.Inbound - 1 }
                : counts with { Outbound = counts.Outbound - 1 };
            if (counts.Total > 0)
            {
                _connected[peer] = counts;
                return;
            }
            _connected.Remove(peer);
            if (_peers.TryGetValue(peer, out var slot))
            {
                if (slot.Standing == Standing.Provisional && slot.Attachment is null)
                {
                    dropped = RemoveLocked(slot); // only its connection had put it here
                }
                else
                {
                    var until = Expiry(_time.GetUtcNow(), Options.RecentlyConnectedAddressTtl);
                    slot.Entry = slot.Entry with { Addresses = [.. slot.Entry.Addresses.Select(a => a.Expires < until ? a with { Expires = until } : a)] };
                }
            }
        }
        if (dropped is not null) Raise(PeerRemoved, dropped, nameof(PeerRemoved));
    }

    // ------------------------------------------------------------ attachments (the peer network's known peers)

    /// <summary>How many stored peers carry an attachment (the peer network's KnownPeers count).</summary>
    internal int AttachedCount
    {
        get { lock (_lock) return _attached; }
    }

    /// <summary>A copy of every attachment, least recently updated peer first.</summary>
    internal T[] Attachments<T>() where T : class
    {
        lock (_lock)
        {
            var result = new List<T>(_attached);
            foreach (var peer in _recency)
                if (_peers[peer].Attachment is T value) result.Add(value);
            return [.. result];
        }
    }

    internal bool TryGetAttachment<T>(PeerId peer, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? value) where T : class
    {
        lock (_lock)
        {
            value = _peers.TryGetValue(peer, out var slot) ? slot.Attachment as T : null;
            return value is not null;
        }
    }

    internal bool HasAttachment(PeerId peer)
    {
        lock (_lock) return _peers.TryGetValue(peer, out var slot) && slot.Attachment is not null;
    }

    /// <summary>
    /// Gives <paramref name="peer"/> an attachment, storing the peer (with the standing of <paramref name="source"/>;
    /// an attached peer is evicted last and never dropped as provisional) and merging
    /// <paramref name="addresses"/> from <paramref name="source"/> in the same step. <paramref name="value"/> is the
    /// attachment to set (replacing another one) or, when null, <paramref name="create"/> makes one only if the peer
    /// has none. At most <see cref="AttachmentRules.Capacity"/> peers carry one: when full, the attachment of the
    /// stalest peer the rules let go is dropped first; when none may go, nothing is attached. All of it happens
    /// under the store's lock, so concurrent callers cannot push the count past the cap.
    /// </summary>
    internal AttachOutcome Attach<T>(PeerId peer, T? value, Func<T>? create, AttachmentRules rules, IReadOnlyCollection<Multiaddr>? addresses,
        AddressSource source, out T result) where T : class
    {
        ArgumentNullException.ThrowIfNull(peer);
        T? attached = null;
        PeerStoreEntry? dropped = null;
        AttachOutcome outcome = AttachOutcome.Full;
        var list = addresses is null ? [] : Normalize(peer, addresses);
        if (peer == _self)
        {
            result = value ?? create!();
            return AttachOutcome.Full;
        }
        // A known peer only heard of stays hearsay underneath: should it stop being known, it is evicted first.
        bool stored = Mutate(peer, StandingOf(source), (entry, now) => MergeAddresses(entry, list, source, Options.DefaultTtl(source), now), slot =>
        {
            if (slot.Attachment is T present && (value is null || ReferenceEquals(present, value)))
            {
                attached = present;
                outcome = AttachOutcome.Present;
                return;
            }
            if (slot.Attachment is not null && value is not null)
            {
                slot.Attachment = attached = value;
                outcome = AttachOutcome.Replaced;
                return;
            }
            var candidate = value ?? create!();
            if (_attached >= rules.Capacity && !DetachStalestLocked(rules, out dropped))
            {
                attached = candidate;
                outcome = AttachOutcome.Full;
                return;
            }
            slot.Attachment = attached = candidate;
            _attached++;
            outcome = AttachOutcome.Added;
        });
        if (dropped is not null) Raise(PeerRemoved, dropped, nameof(PeerRemoved));
        result = attached ?? value ?? create!();
        return stored ? outcome : AttachOutcome.Full;
    }

    /// <summary>
    /// Drops the attachment of <paramref name="peer"/> (only when it is <paramref name="expected"/>, if given). With
    /// <paramref name="forget"/> the peer goes too: at once when it has no live connection, else when its last
    /// connection closes (it becomes provisional). False when there was nothing to drop.
    /// </summary>
    internal bool Detach(PeerId peer, object? expected, bool forget)
    {
        PeerStoreEntry? removed = null;
        lock (_lock)
        {
            if (!_peers.TryGetValue(peer, out var slot) || slot.Attachment is null || (expected is not null && !ReferenceEquals(slot.Attachment, expected)))
                return false;
            slot.Attachment = null;
            _attached--;
            if (forget)
            {
                if (_connected.ContainsKey(peer)) slot.Standing = Standing.Provisional;
                else removed = RemoveLocked(slot);
            }
        }
        if (removed is not null) Raise(PeerRemoved, removed, nameof(PeerRemoved));
        return true;
    }

    // Under the lock: drops the attachment of the peer whose attachment is stalest among those the rules let go. A
    // peer pushed out that way with no live connection leaves the store too (removed: raise PeerRemoved after the
    // lock): the layer above forgot it, and keeping its entry would let a stream of peers that each came once grow
    // the store to its capacity instead of the layer's cap.
    private bool DetachStalestLocked(AttachmentRules rules, out PeerStoreEntry? removed)
    {
        removed = null;
        Slot? stalest = null;
        DateTimeOffset oldest = DateTimeOffset.MaxValue;
        foreach (var slot in _peers.Values)
        {
            if (slot.Attachment is not { } value || rules.InUse(slot.Entry.PeerId)) continue;
            var seen = rules.LastSeen(value);
            if (stalest is null || seen < oldest)
            {
                stalest = slot;
                oldest = seen;
            }
        }
        if (stalest is null) return false;
        stalest.Attachment = null;
        _attached--;
        if (!_connected.ContainsKey(stalest.Entry.PeerId)) removed = RemoveLocked(stalest);
        return true;
    }

    // Vouched for with an outbound connection, else provisional (which is created only while connected).
    private Standing StandingOfConnected(PeerId peer)
    {
        lock (_lock)
            return _connected.TryGetValue(peer, out var counts) && counts.Outbound > 0 ? Standing.Vouched : Standing.Provisional;
    }

    /// <summary>
    /// Applies <paramref name="change"/> (which returns null for "nothing changed") to the peer's entry under the
    /// lock, creating the entry with <paramref name="create"/> standing when it is new and there is room (evicting
    /// if need be; a provisional one never evicts). <paramref name="touch"/>, when given, also runs under the lock on
    /// the peer's slot. A stored peer gains standing from a write that vouches for it.
    /// </summary>
    private bool Mutate(PeerId peer, Standing? create, Func<PeerStoreEntry, DateTimeOffset, PeerStoreEntry?> change, Action<Slot>? touch = null)
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
                if (create is { } standing && standing > slot.Standing) slot.Standing = standing;
                touch?.Invoke(slot);
                if (change(Live(slot.Entry, now), now) is not { } next) return true;
                slot.Entry = next with { Updated = now };
                _recency.Remove(slot.Node);
                _recency.AddLast(slot.Node);
                updated = slot.Entry;
            }
            else
            {
                if (create is not { } standing) return false;
                // A provisional entry exists only while its peer is connected.
                if (standing == Standing.Provisional && !_connected.ContainsKey(peer)) return false;
                if (_peers.Count >= Options.Capacity && (standing == Standing.Provisional || (evicted = EvictOne()) is null))
                {
                    full = true;
                }
                else
                {
                    var fresh = new PeerStoreEntry { PeerId = peer, Updated = now };
                    var entry = (change(fresh, now) ?? fresh) with { Updated = now };
                    var created = new Slot(entry, _recency.AddLast(peer)) { Standing = standing };
                    // Connected already (an outbound connection registers before its address is written): never hearsay.
                    if (standing == Standing.Hearsay && _connected.ContainsKey(peer)) created.Standing = Standing.Vouched;
                    _peers[peer] = created;
                    touch?.Invoke(created);
                    added = created.Entry;
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

    // Under the lock: a peer without a live connection, removed: hearsay first, then peers vouched for, then peers
    // with an attachment, each least recently updated first. Null when every stored peer is connected.
    private PeerStoreEntry? EvictOne()
    {
        for (int pass = 0; pass < 3; pass++)
        {
            for (var node = _recency.First; node is not null; node = node.Next)
            {
                if (_connected.ContainsKey(node.Value)) continue;
                var slot = _peers[node.Value];
                int rank = slot.Attachment is not null ? 2 : slot.Standing == Standing.Hearsay ? 0 : 1;
                if (rank == pass) return RemoveLocked(slot);
            }
        }
        return null;
    }

    // Under the lock.
    private PeerStoreEntry RemoveLocked(Slot slot)
    {
        _peers.Remove(slot.Entry.PeerId);
        _recency.Remove(slot.Node);
        if (slot.Attachment is not null)
        {
            slot.Attachment = null;
            _attached--;
        }
        return slot.Entry;
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
        public Standing Standing { get; set; }
        // What a layer above keeps for this peer (the peer network's GenericPeer); counted in _attached.
        public object? Attachment { get; set; }
    }

    private readonly record struct Connections(int Inbound, int Outbound)
    {
        public int Total => Inbound + Outbound;
    }

    // How much we have to go on for a peer: ordered, a write can only raise it.
    private enum Standing
    {
        // Connected to us inbound, nothing else: dropped when its last connection closes.
        Provisional,
        // Heard of (discovery, peer exchange, a bootstrap server), never connected.
        Hearsay,
        // Dialed, connected before, added by the application, or kept by a layer above.
        Vouched,
    }
}

/// <summary>What a layer above (the peer network) keeps per peer in the store: at most Capacity attachments.</summary>
/// <param name="Capacity">Most attachments.</param>
/// <param name="InUse">A peer whose attachment must not be dropped to make room (it has a channel, say).</param>
/// <param name="LastSeen">When the owner of an attachment last heard of its peer; the stalest goes first.</param>
internal sealed record AttachmentRules(int Capacity, Func<PeerId, bool> InUse, Func<object, DateTimeOffset> LastSeen);

/// <summary>The outcome of <see cref="PeerStore.Attach"/>.</summary>
internal enum AttachOutcome
{
    /// <summary>The peer already carried it (or, without a value to set, any attachment).</summary>
    Present,
    /// <summary>It replaced the peer's other attachment.</summary>
    Replaced,
    /// <summary>It is new.</summary>
    Added,
    /// <summary>No room (every attachment in use, or a store full of connected peers): not attached.</summary>
    Full,
}
