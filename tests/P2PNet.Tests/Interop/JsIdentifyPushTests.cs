using P2PNet.Core;
using P2PNet.Protocols.Identify;
using P2PNet.Swarm;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Interop;

/// <summary>Identify push and observed addresses against a real js-libp2p peer (interop/js).</summary>
[Collection(nameof(InteropCollection))]
public sealed class JsIdentifyPushTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static async Task<(LineProcess Js, PeerId Id, Multiaddr Addr)> StartJsListenerAsync()
    {
        var js = LineProcess.StartJs("listen", "--port", "0");
        var id = PeerId.Parse((await js.ExpectAsync("PEERID ", Timeout))["PEERID ".Length..]);
        var addr = Multiaddr.Parse((await js.ExpectAsync("ADDR ", Timeout))["ADDR ".Length..]);
        await js.ExpectAsync("READY", Timeout);
        return (js, id, addr);
    }

    [Fact]
    public async Task Js_sees_our_new_handler_after_identify_push()
    {
        var (js, jsId, jsAddr) = await StartJsListenerAsync();
        await using var _ = js;
        using var identity = Identity.Generate();
        await using var host = new SwarmHost(identity);
        await using var identify = new IdentifyService(host);
        await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));

        var jsIdentified = Events.Next<PeerStoreEntry>(h => host.PeerStore.PeerUpdated += h, e => e.PeerId == jsId && e.Protocols.Count > 0, Timeout);
        await host.DialAsync(jsAddr).WaitAsync(Timeout);
        // js identified us once (without the handler), and we identified js.
        Assert.DoesNotContain("/p2pnet/pushed/1.0.0", (await js.ExpectAsync($"IDENTIFY {identity.PeerId} ", Timeout)).Split(' ')[2]);
        Assert.Contains(IdentifyProtocol.PushId, (await jsIdentified).Protocols);

        host.SetStreamHandler("/p2pnet/pushed/1.0.0", (_, _, _) => Task.CompletedTask);

        // The push makes js raise peer:identify again, now with the new protocol (an earlier push, for our
        // start-up changes, may come first).
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            string line = await js.ExpectAsync($"IDENTIFY {identity.PeerId} ", TimeSpan.FromTicks(Math.Max(1, (deadline - DateTime.UtcNow).Ticks)));
            if (line.Split(' ')[2]["protocols=".Length..].Split(',').Contains("/p2pnet/pushed/1.0.0")) break;
        }
    }

    [Fact]
    public async Task Our_node_reads_its_observed_address_from_js_with_threshold_one()
    {
        var (js, _, _) = await StartJsListenerAsync();
        await using var __ = js;
        using var identity = Identity.Generate();
        await using var host = new SwarmHost(identity, new SwarmOptions { ObservedAddressThreshold = 1 });
        await using var identify = new IdentifyService(host);
        var listen = await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var changed = Events.Next<EventArgs>(h => host.AddressesChanged += (s, e) => h(s, e), null, Timeout);

        // js dials us; our identify on connect asks js, and js reports the address it dialed: our listen address.
        await js.SendAsync($"dial {listen.WithPeerId(identity.PeerId)}");
        Assert.StartsWith("DIAL_OK", await js.ExpectAsync("DIAL_", Timeout));
        await changed;

        var candidate = Assert.Single(host.ObservedAddressCandidates);
        Assert.Equal(listen, candidate.Address);
        Assert.Equal(1, candidate.InboundObservers);
        Assert.True(candidate.Confirmed);
        Assert.Contains(listen, host.Addresses);
    }
}
