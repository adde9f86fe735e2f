using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Swarm;
using static P2PNet.Tests.Peers.PeerTestNetwork;

namespace P2PNet.Tests.Peers;

/// <summary>KnownPeers stays within MaxKnownPeers however many callers add to it at once.</summary>
public sealed class KnownPeersTests
{
    private static readonly Multiaddr Somewhere = Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001");

    private static PeerId[] NewIds(int count)
    {
        var ids = new PeerId[count];
        for (int i = 0; i < count; i++)
        {
            using var identity = Identity.Generate();
            ids[i] = identity.PeerId;
        }
        return ids;
    }

    [Fact]
    public async Task The_store_never_exceeds_its_cap_under_concurrent_adds_and_removes()
    {
        const int cap = 16;
        var ids = NewIds(400);
        var connected = new HashSet<PeerId>(ids.Take(4)); // never evicted
        var store = new KnownPeerStore(new PeerStore(), cap, id => connected.Contains(id));
        int over = 0;

        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(() =>
        {
            var random = new Random(w);
            for (int i = 0; i < 5000; i++)
            {
                var id = ids[random.Next(ids.Length)];
                switch (random.Next(3))
                {
                    case 0: store.GetOrAdd(id, () => new GenericPeer(id, [Somewhere]), out _); break;
                    case 1: store.Add(new GenericPeer(id, [Somewhere])); break;
                    default: store.Remove(id); break;
                }
                if (store.Count > cap) Interlocked.Increment(ref over);
            }
        }));
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, over);
        Assert.InRange(store.Count, 0, cap);
    }

    [Fact]
    public async Task KnownPeers_never_exceeds_MaxKnownPeers_under_concurrent_AddKnownPeer_and_connect_disconnect_cycles()
    {
        const int cap = 5;
        await using var b = await StartAsync(o => o with { MaxKnownPeers = cap });
        int most = 0;
        void Observe()
        {
            int count = b.KnownPeers.Count;
            int seen;
            while (count > (seen = Volatile.Read(ref most)) && Interlocked.CompareExchange(ref most, count, seen) != seen) { }
        }
        b.KnownPeerAdded += (_, _) => Observe();
        var ids = NewIds(300);

        var adders = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (int i = w; i < ids.Length; i += 4)
            {
                b.AddKnownPeer(ids[i], [Somewhere]);
                Observe();
            }
        }));
        var cyclers = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 4; i++)
            {
                await using var a = await StartAsync();
                var channel = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
                Observe();
                var removed = Next<PeerChannel>(h => b.PeerRemoved += h, c => c.Identifier == a.Identifier);
                await channel.ClosePeerChannelAsync("cycle").WaitAsync(Wait);
                await removed;
                Observe();
            }
        }));
        await Task.WhenAll(adders.Concat(cyclers)).WaitAsync(TimeSpan.FromSeconds(90));

        Assert.InRange(most, 1, cap);
        Assert.InRange(b.KnownPeers.Count, 1, cap);
    }

    [Fact]
    public void A_full_store_of_connected_peers_adds_nothing_and_evicts_the_stalest_otherwise()
    {
        var ids = NewIds(3);
        bool allConnected = true;
        var store = new KnownPeerStore(new PeerStore(), 2, _ => allConnected);
        var first = new GenericPeer(ids[0], [Somewhere]);
        var second = new GenericPeer(ids[1], [Somewhere]);
        Assert.Equal(KnownPeerChange.Added, store.Add(first));
        Assert.Equal(KnownPeerChange.Added, store.Add(second));
        Assert.Equal(KnownPeerChange.Present, store.Add(first));
        Assert.Equal(KnownPeerChange.Full, store.Add(new GenericPeer(ids[2], [Somewhere])));

        allConnected = false;
        second.MergeAddresses([Multiaddr.Parse("/ip4/10.0.0.2/tcp/4001")]); // seen later than first
        Assert.Equal(KnownPeerChange.Added, store.Add(new GenericPeer(ids[2], [Somewhere])));
        Assert.False(store.Contains(ids[0]));
        Assert.True(store.Contains(ids[1]));
        Assert.Equal(2, store.Count);
    }
}
