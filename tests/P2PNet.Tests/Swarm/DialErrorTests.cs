using P2PNet.Core;
using P2PNet.Swarm;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Swarm;

/// <summary>
/// Review findings on dialing: our own limits say so (ResourceLimit), the per-peer limit leaves room for the connection
/// a simultaneous dial keeps, both DialAsync overloads type a failure alike, and the gater is asked once per address.
/// </summary>
public sealed class DialErrorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private static SwarmOptions OnePerPeer() => new() { Limits = new ResourceLimits { MaxConnectionsPerPeer = 1 } };

    // Two hosts with one connection per peer; `low` has the PeerId that sorts lower.
    private static async Task<(SwarmHost Low, Multiaddr LowAddr, SwarmHost High, Multiaddr HighAddr)> PairAsync(MemoryHosts hosts)
    {
        var (a, aAddr) = await hosts.StartAsync(OnePerPeer());
        var (b, bAddr) = await hosts.StartAsync(OnePerPeer());
        return a.LocalPeerId.Bytes.SequenceCompareTo(b.LocalPeerId.Bytes) < 0 ? (a, aAddr, b, bAddr) : (b, bAddr, a, aAddr);
    }

    [Fact]
    public async Task A_dial_refused_by_our_own_per_peer_limit_fails_as_ResourceLimit()
    {
        await using var hosts = new MemoryHosts();
        var (low, lowAddr, high, _) = await PairAsync(hosts);
        await low.DialAsync(high.ListenAddresses[0].WithPeerId(high.LocalPeerId)).WaitAsync(Timeout);

        // The high node dials the low one again, by address only: its new connection is not the one a simultaneous
        // dial keeps (the lower PeerId's dial is), so its own limit of one connection per peer refuses it.
        var ex = await Assert.ThrowsAsync<DialException>(() => high.DialAsync(lowAddr.WithoutPeerId()).WaitAsync(Timeout));
        Assert.Equal(DialError.ResourceLimit, ex.Error);
        var refusal = Assert.IsType<ConnectionRefusedException>(ex.InnerException);
        Assert.False(refusal.ByRemote);
        Assert.Equal(RefusalReason.ResourceLimit, refusal.Reason);
        Assert.Equal(DialError.ResourceLimit, Assert.Single(ex.Attempts).Error);
    }

    [Fact]
    public async Task The_connection_a_simultaneous_dial_keeps_is_admitted_one_over_the_per_peer_limit_and_its_twin_closes()
    {
        await using var hosts = new MemoryHosts();
        var (low, _, high, highAddr) = await PairAsync(hosts);
        var first = await high.DialAsync(low.ListenAddresses[0].WithPeerId(low.LocalPeerId)).WaitAsync(Timeout);

        // The lower PeerId dials too (by address only, so the existing connection is not reused): both sides keep this one.
        var kept = await low.DialAsync(highAddr.WithoutPeerId()).WaitAsync(Timeout);
        Assert.True(kept.IsOpen);
        Assert.Same(kept, low.FindConnection(high.LocalPeerId));
        await Poll.UntilAsync(() => !first.IsOpen, Timeout, "the redundant connection to close once idle");
        await Poll.UntilAsync(() => low.Connections.Count == 1 && high.Connections.Count == 1, Timeout, "one connection on each side");
        Assert.Equal(ConnectionDirection.Outbound, Assert.Single(low.Connections).Direction);
    }

    [Fact]
    public async Task Both_DialAsync_overloads_report_the_same_failure_as_a_DialException_with_the_same_error()
    {
        await using var hosts = new MemoryHosts();
        var (server, addr) = await hosts.StartAsync();
        var (client, _) = await hosts.StartAsync();
        client.Gater = new TestGater { Dial = (_, _) => false };
        client.PeerStore.AddAddress(server.LocalPeerId, addr.WithoutPeerId(), AddressSource.Manual);

        var byAddress = await Assert.ThrowsAsync<DialException>(() => client.DialAsync(addr).WaitAsync(Timeout));
        var byPeer = await Assert.ThrowsAsync<DialException>(() => client.DialAsync(server.LocalPeerId).WaitAsync(Timeout));
        Assert.Equal(DialError.Blocked, byAddress.Error);
        Assert.Equal(DialError.Blocked, byPeer.Error);
        Assert.Equal(server.LocalPeerId, byAddress.PeerId);
        Assert.Equal(server.LocalPeerId, byPeer.PeerId);
        Assert.IsType<ConnectionRefusedException>(Assert.Single(byAddress.Attempts).Exception);
        Assert.IsType<ConnectionRefusedException>(Assert.Single(byPeer.Attempts).Exception);
    }

    [Fact]
    public async Task The_gater_is_asked_once_per_address_of_a_dial_by_PeerId()
    {
        await using var hosts = new MemoryHosts();
        var (server, addr) = await hosts.StartAsync();
        var gater = new TestGater();
        var (client, _) = await hosts.StartAsync(new SwarmOptions { Gater = gater });
        // One address where nothing listens (tried first: manual addresses go before bootstrap ones), one that works.
        client.PeerStore.AddAddress(server.LocalPeerId, Multiaddr.Parse("/memory/999999"), AddressSource.Manual);
        client.PeerStore.AddAddress(server.LocalPeerId, addr.WithoutPeerId(), AddressSource.Bootstrap);

        await client.DialAsync(server.LocalPeerId).WaitAsync(Timeout);
        Assert.Equal(2, Volatile.Read(ref gater.DialCalls));

        // By address: once as well.
        var (_, otherAddr) = await hosts.StartAsync();
        await client.DialAsync(otherAddr).WaitAsync(Timeout);
        Assert.Equal(3, Volatile.Read(ref gater.DialCalls));
    }
}
