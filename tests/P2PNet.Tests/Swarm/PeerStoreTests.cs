using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Tests.Swarm;

/// <summary>The host's peer store: TTLs, sources, the cap under concurrent writers, and connected peers.</summary>
public sealed class PeerStoreTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static PeerId NewPeer()
    {
        using var id = Identity.Generate();
        return id.PeerId;
    }

    private static Multiaddr Addr(int port) => Multiaddr.Parse($"/ip4/10.0.0.1/tcp/{port}");

    [Fact]
    public void Addresses_expire_after_their_ttl_and_keep_their_source()
    {
        var clock = new ManualClock();
        var store = new PeerStore(new PeerStoreOptions { TimeProvider = clock, DiscoveredAddressTtl = TimeSpan.FromMinutes(10) });
        var peer = NewPeer();

        Assert.True(store.AddAddress(peer, Addr(1), AddressSource.Discovery));
        Assert.True(store.AddAddress(peer, Addr(2), AddressSource.Manual));
        Assert.True(store.AddAddress(peer, Addr(3), AddressSource.Exchange, TimeSpan.FromMinutes(1)));
        Assert.True(store.TryGet(peer, out var entry));
        Assert.Equal(3, entry.Addresses.Count);
        Assert.Equal(AddressSource.Discovery, entry.Addresses.Single(a => a.Address.Equals(Addr(1))).Source);
        Assert.Equal(DateTimeOffset.MaxValue, entry.Addresses.Single(a => a.Address.Equals(Addr(2))).Expires);

        clock.Now += TimeSpan.FromMinutes(2);
        Assert.Equal([Addr(1), Addr(2)], store.GetAddresses(peer).OrderBy(a => a.ToString()));

        clock.Now += TimeSpan.FromMinutes(9);
        Assert.Equal([Addr(2)], store.GetAddresses(peer));
        Assert.True(store.Contains(peer)); // the peer stays, only its addresses expire

        // Seen again: the address is back with a fresh TTL.
        store.AddAddress(peer, Addr(1), AddressSource.Discovery);
        Assert.Contains(Addr(1), store.GetAddresses(peer));
    }

    [Fact]
    public void A_connected_peers_addresses_do_not_expire_and_outlive_the_connection_by_the_grace()
    {
        var clock = new ManualClock();
        var store = new PeerStore(new PeerStoreOptions { TimeProvider = clock, RecentlyConnectedAddressTtl = TimeSpan.FromMinutes(10) });
        using var id = Identity.Generate();
        store.AddAddress(id.PeerId, Addr(1), AddressSource.Exchange, TimeSpan.FromMinutes(1));
        store.OnConnected(id.PeerId, id.PublicKey);
        clock.Now += TimeSpan.FromHours(5);
        Assert.Equal([Addr(1)], store.GetAddresses(id.PeerId));

        store.OnDisconnected(id.PeerId);
        clock.Now += TimeSpan.FromMinutes(9);
        Assert.Equal([Addr(1)], store.GetAddresses(id.PeerId));
        clock.Now += TimeSpan.FromMinutes(2);
        Assert.Empty(store.GetAddresses(id.PeerId));
    }

    [Fact]
    public void Identify_replaces_identify_addresses_only_and_records_key_protocols_and_agent()
    {
        var store = new PeerStore();
        using var id = Identity.Generate();
        store.AddAddress(id.PeerId, Addr(1), AddressSource.Bootstrap);
        store.RecordIdentify(id.PeerId, id.PublicKey, [Addr(2), Addr(3)], ["/a/1", "/b/1"], "agent/1", "ipfs/0.1.0");
        store.RecordIdentify(id.PeerId, id.PublicKey, [Addr(3), Addr(4).WithPeerId(id.PeerId)], ["/c/1"], "agent/2", null);

        Assert.True(store.TryGet(id.PeerId, out var entry));
        Assert.Equal(id.PublicKey.ToPeerId(), entry.PublicKey!.ToPeerId());
        Assert.Equal(["/c/1"], entry.Protocols);
        Assert.Equal("agent/2", entry.AgentVersion);
        Assert.Equal("ipfs/0.1.0", entry.ProtocolVersion);
        Assert.Equal([Addr(1), Addr(3), Addr(4)], entry.Multiaddrs.OrderBy(a => a.ToString()));
        Assert.Equal(AddressSource.Bootstrap, entry.Addresses.Single(a => a.Address.Equals(Addr(1))).Source);

        // A key that is not the peer's is refused.
        using var other = Identity.Generate();
        Assert.Throws<ArgumentException>(() => store.SetPublicKey(id.PeerId, other.PublicKey));
        Assert.Throws<ArgumentException>(() => store.RecordIdentify(id.PeerId, other.PublicKey, [], [], null, null));
    }

    [Fact]
    public void Events_report_added_updated_and_removed_and_ourselves_is_never_stored()
    {
        var self = NewPeer();
        var store = new PeerStore(self: self);
        var seen = new List<string>();
        store.PeerAdded += (_, e) => seen.Add($"added {e.Multiaddrs.Count}");
        store.PeerUpdated += (_, e) => seen.Add($"updated {e.Multiaddrs.Count}");
        store.PeerRemoved += (_, e) => seen.Add($"removed {e.Multiaddrs.Count}");
        var peer = NewPeer();

        store.AddAddress(peer, Addr(1), AddressSource.Manual);
        store.AddAddress(peer, Addr(1), AddressSource.Manual); // nothing new: no event
        store.AddAddress(peer, Addr(2), AddressSource.Manual);
        Assert.True(store.Remove(peer));
        Assert.False(store.Remove(peer));
        Assert.Equal(["added 1", "updated 2", "removed 2"], seen);

        Assert.False(store.AddAddress(self, Addr(3), AddressSource.Manual));
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task Ten_thousand_concurrent_adds_never_exceed_a_cap_of_one_thousand()
    {
        const int cap = 1000;
        var store = new PeerStore(new PeerStoreOptions { Capacity = cap });
        int max = 0, removed = 0;
        store.PeerAdded += (_, _) =>
        {
            int count = store.Count;
            int seen;
            while (count > (seen = Volatile.Read(ref max)) && Interlocked.CompareExchange(ref max, count, seen) != seen) { }
        };
        store.PeerRemoved += (_, _) => Interlocked.Increment(ref removed);
        var peers = Enumerable.Range(0, 10_000).Select(_ => NewPeer()).ToArray();

        await Parallel.ForEachAsync(peers, new ParallelOptions { MaxDegreeOfParallelism = 8 }, (peer, _) =>
        {
            Assert.True(store.AddAddress(peer, Addr(4001), AddressSource.Discovery));
            Assert.InRange(store.Count, 1, cap);
            return ValueTask.CompletedTask;
        });

        Assert.Equal(cap, store.Count);
        Assert.InRange(max, 1, cap);
        Assert.Equal(10_000 - cap, removed);
        Assert.Equal(cap, store.Snapshot().Count);
    }

    [Fact]
    public void Connected_peers_are_never_evicted_and_a_store_full_of_them_refuses_new_peers()
    {
        var store = new PeerStore(new PeerStoreOptions { Capacity = 3 });
        var ids = Enumerable.Range(0, 3).Select(_ => Identity.Generate()).ToArray();
        try
        {
            // The oldest two are connected; new peers push out only the third.
            store.OnConnected(ids[0].PeerId, ids[0].PublicKey);
            store.OnConnected(ids[1].PeerId, ids[1].PublicKey);
            store.AddAddress(ids[2].PeerId, Addr(3), AddressSource.Discovery);
            for (int i = 0; i < 5; i++) Assert.True(store.AddAddress(NewPeer(), Addr(10 + i), AddressSource.Discovery));
            Assert.Equal(3, store.Count);
            Assert.True(store.Contains(ids[0].PeerId));
            Assert.True(store.Contains(ids[1].PeerId));
            Assert.False(store.Contains(ids[2].PeerId));
            Assert.NotNull(store.Snapshot().Single(e => e.PeerId == ids[0].PeerId).PublicKey); // the handshake's key

            // Every stored peer connected: a new one is refused rather than exceeding the cap.
            var third = store.Snapshot().Single(e => e.PeerId != ids[0].PeerId && e.PeerId != ids[1].PeerId).PeerId;
            store.OnConnected(third, ids[2].PublicKey); // key mismatch: counted as connected, key not stored
            Assert.False(store.AddAddress(NewPeer(), Addr(99), AddressSource.Discovery));
            Assert.Equal(3, store.Count);

            // Once disconnected it can be evicted again.
            store.OnDisconnected(ids[0].PeerId);
            Assert.False(store.IsConnected(ids[0].PeerId));
            Assert.True(store.AddAddress(NewPeer(), Addr(100), AddressSource.Discovery));
            Assert.False(store.Contains(ids[0].PeerId));
            Assert.True(store.Contains(ids[1].PeerId));
        }
        finally
        {
            foreach (var id in ids) id.Dispose();
        }
    }
}
