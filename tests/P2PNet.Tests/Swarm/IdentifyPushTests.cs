using P2PNet.Core;
using P2PNet.Protocols.Identify;
using P2PNet.Swarm;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Swarm;

/// <summary>Identify writes the peer store, and a change on one host reaches a connected peer's store by push.</summary>
public sealed class IdentifyPushTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_new_handler_reaches_a_connected_peers_store_by_identify_push_and_a_removed_one_leaves()
    {
        using var idA = Identity.Generate();
        using var idB = Identity.Generate();
        await using var a = new SwarmHost(idA);
        await using var b = new SwarmHost(idB);
        await using var identifyA = new IdentifyService(a);
        await using var identifyB = new IdentifyService(b);
        var addrB = await b.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));

        var identified = Events.Next<PeerStoreEntry>(h => a.PeerStore.PeerUpdated += h, e => e.PeerId == idB.PeerId && e.Protocols.Count > 0, Timeout);
        await a.DialAsync(addrB.WithPeerId(idB.PeerId)).WaitAsync(Timeout);
        var entry = await identified;
        Assert.Contains(IdentifyProtocol.PushId, entry.Protocols);
        Assert.Contains(entry.Addresses, x => x.Address.Equals(addrB) && x.Source == AddressSource.Identify);
        Assert.StartsWith("p2pnet/", entry.AgentVersion);
        Assert.Equal(idB.PeerId, entry.PublicKey!.ToPeerId());

        const string Added = "/p2pnet/test/new/1.0.0";
        var pushed = Events.Next<PeerStoreEntry>(h => a.PeerStore.PeerUpdated += h, e => e.PeerId == idB.PeerId && e.Protocols.Contains(Added), Timeout);
        b.SetStreamHandler(Added, (_, _, _) => Task.CompletedTask);
        await pushed;
        Assert.Contains(Added, identifyA.Get(idB.PeerId)!.Protocols);

        var removed = Events.Next<PeerStoreEntry>(h => a.PeerStore.PeerUpdated += h, e => e.PeerId == idB.PeerId && !e.Protocols.Contains(Added), Timeout);
        b.RemoveStreamHandler(Added);
        await removed;
    }
}
