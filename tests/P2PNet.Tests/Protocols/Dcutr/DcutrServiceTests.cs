using System.Net;
using P2PNet.Core;
using P2PNet.Protocols.Dcutr;
using P2PNet.Protocols.Identify;
using P2PNet.Protocols.Ping;
using P2PNet.Protocols.Relay;
using P2PNet.Swarm;
using P2PNet.Tests.Support;
using P2PNet.Wire;

namespace P2PNet.Tests.Protocols.Dcutr;

/// <summary>
/// DCUtR over loopback TCP (127.0.0.0/8 listed as public): a relayed connection is upgraded to a direct one with the
/// spec's roles, and forged or oversized messages cost the sender its stream, not the node.
/// </summary>
public sealed class DcutrServiceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly DcutrOptions Loopback = new() { PublicCidrs = [IPNetwork.Parse("127.0.0.0/8")], PeerStartTimeout = TimeSpan.FromSeconds(5) };

    private sealed class Lab : IAsyncDisposable
    {
        public List<IAsyncDisposable> Owned { get; } = [];

        public async Task<(SwarmHost Host, Multiaddr Addr)> HostAsync()
        {
            var host = new SwarmHost(Identity.Generate());
            Owned.Add(host);
            _ = new PingService(host);
            _ = new IdentifyService(host);
            var addr = await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
            return (host, addr.WithPeerId(host.LocalPeerId));
        }

        public T Own<T>(T item) where T : IAsyncDisposable
        {
            Owned.Add(item);
            return item;
        }

        public async ValueTask DisposeAsync()
        {
            for (int i = Owned.Count - 1; i >= 0; i--) await Owned[i].DisposeAsync();
        }
    }

    [Fact]
    public async Task A_relayed_connection_is_upgraded_to_a_direct_one_with_A_as_client_and_B_as_server()
    {
        await using var lab = new Lab();
        var (relayHost, relayAddr) = await lab.HostAsync();
        lab.Own(new RelayService(relayHost));
        var (b, _) = await lab.HostAsync();
        var clientB = lab.Own(new RelayClient(b));
        var dcutrB = lab.Own(new DcutrService(b, Loopback));
        var (a, _) = await lab.HostAsync();
        lab.Own(new RelayClient(a));
        var dcutrA = lab.Own(new DcutrService(a, Loopback));
        await clientB.ReserveAsync(relayAddr).WaitAsync(Timeout);

        var atA = Events.Next<DirectConnectionEventArgs>(h => dcutrA.DirectConnectionEstablished += h, null, Timeout);
        var atB = Events.Next<DirectConnectionEventArgs>(h => dcutrB.DirectConnectionEstablished += h, null, Timeout);
        var failedA = Events.Next<HolePunchFailedEventArgs>(h => dcutrA.HolePunchFailed += h, null, Timeout);
        var relayed = await a.DialAsync(Multiaddr.Parse($"{relayAddr}/p2p-circuit/p2p/{b.LocalPeerId}")).WaitAsync(Timeout);
        Assert.True(DcutrService.IsRelayed(relayed));

        var first = await Task.WhenAny(atA, failedA);
        if (first == failedA) Assert.Fail($"hole punch failed: {(await failedA).Reason}");
        var directA = (await atA).Connection;
        var directB = (await atB).Connection;
        Assert.False(DcutrService.IsRelayed(directA));
        // relay/DCUtR.md: A is the client of the protocols on top (Noise initiator, multistream dialer), B the server.
        Assert.Equal(ConnectionDirection.Outbound, directA.Direction);
        Assert.Equal(ConnectionDirection.Inbound, directB.Direction);
        Assert.Same(relayed, (await atA).Relayed);
        Assert.Same(directA, a.FindConnection(b.LocalPeerId));
        await new PingService(a).PingAsync(directA).WaitAsync(Timeout);
    }

    [Fact]
    public async Task Forged_and_oversized_messages_reset_the_stream_and_the_node_keeps_serving()
    {
        await using var lab = new Lab();
        var (relayHost, relayAddr) = await lab.HostAsync();
        lab.Own(new RelayService(relayHost));
        // The hostile B: no DCUtR service, it writes what it likes on /libp2p/dcutr.
        var (hostile, _) = await lab.HostAsync();
        var clientH = lab.Own(new RelayClient(hostile));
        var (a, _) = await lab.HostAsync();
        lab.Own(new RelayClient(a));
        var dcutrA = lab.Own(new DcutrService(a, Loopback));
        await clientH.ReserveAsync(relayAddr).WaitAsync(Timeout);
        var failed = Events.Next<HolePunchFailedEventArgs>(h => dcutrA.HolePunchFailed += h, null, Timeout);
        var opened = Events.Next<Connection>(h => hostile.ConnectionOpened += h, c => c.Info.IsLimited, Timeout);
        await a.DialAsync(Multiaddr.Parse($"{relayAddr}/p2p-circuit/p2p/{hostile.LocalPeerId}")).WaitAsync(Timeout);
        var relayed = await opened;

        byte[] prefix = new byte[10];
        int n = Varint.Write(prefix, 1_000_000);
        byte[][] forged =
        [
            prefix[..n], // a length far over 4 KiB
            [0x03, 0x08, 0xC8, 0x01], // a type the spec does not have
            [.. LengthPrefixed(new HolePunchMessage(HolePunchType.Sync, []).ToProtobuf())], // SYNC where CONNECT belongs
        ];
        foreach (var bytes in forged)
        {
            var stream = await relayed.OpenStreamAsync(DcutrProtocol.Id).WaitAsync(Timeout);
            await using (stream)
            {
                await stream.WriteAsync(bytes);
                await stream.FlushAsync();
                // The victim resets the stream: the read ends (zero bytes or a reset), it never hangs.
                var buffer = new byte[16];
                try
                {
                    Assert.Equal(0, await stream.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
                }
                catch (IOException)
                {
                }
            }
        }
        // Three attempts spent: the hole punch is reported failed with the reason, and a fourth stream is refused.
        var outcome = await failed;
        Assert.Contains("SYNC", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(3, outcome.Attempts);
        // The node and the relayed connection carry on.
        Assert.True(relayed.IsOpen);
        await new PingService(hostile).PingAsync(relayed).WaitAsync(Timeout);
        var (c, cAddr) = await lab.HostAsync();
        await new PingService(c).PingAsync(await c.DialAsync(a.ListenAddresses[0].WithPeerId(a.LocalPeerId)).WaitAsync(Timeout)).WaitAsync(Timeout);
    }

    private static byte[] LengthPrefixed(byte[] body)
    {
        byte[] prefix = new byte[10];
        int n = Varint.Write(prefix, (ulong)body.Length);
        return [.. prefix[..n], .. body];
    }
}
