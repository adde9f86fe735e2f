using System.Diagnostics;
using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Discovery.Mdns;
using P2PNet.Protocols.Ping;
using P2PNet.Swarm;
using P2PNet.Tests.Discovery;
using P2PNet.Tests.Support;
using Xunit.Abstractions;

namespace P2PNet.Tests.Interop;

/// <summary>
/// mDNS interop with js-libp2p's <c>@libp2p/mdns</c> (interop/js peer.mjs --mdns): each side finds the other on
/// 224.0.0.251:5353 and they connect at the discovered addresses. Multicast, so only inside the private namespace.
/// </summary>
[Trait("Category", NetNs.Category)]
[Collection(nameof(InteropCollection))]
public sealed class JsMdnsInteropTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan QueryInterval = TimeSpan.FromMilliseconds(500);

    [NamespaceFact]
    public async Task We_and_js_libp2p_discover_each_other_by_mdns_and_connect_both_ways()
    {
        NetNs.AssertIsolated();
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = logs.CreateFactory();
        await using var js = LineProcess.StartJs("listen", "--mdns", "--mdns-interval", ((int)QueryInterval.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            var jsId = PeerId.Parse((await js.ExpectAsync("PEERID ", Timeout))["PEERID ".Length..]);
            var jsAddr = Multiaddr.Parse((await js.ExpectAsync("ADDR ", Timeout))["ADDR ".Length..]).WithoutPeerId();
            await js.ExpectAsync("READY", Timeout);

            using var identity = Identity.Generate();
            await using var host = new SwarmHost(identity, loggerFactory: loggerFactory);
            var ping = new PingService(host);
            var ourAddr = await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
            await using var discovery = new MdnsDiscovery(new MdnsOptions { Interface = "lo", QueryInterval = QueryInterval }, loggerFactory);
            var watch = new Stopwatch();
            var weFoundJs = new TaskCompletionSource<(DiscoveredPeer Peer, long Ms)>(TaskCreationOptions.RunContinuationsAsynchronously);
            discovery.PeerDiscovered += (_, p) => { if (p.PeerId == jsId) weFoundJs.TrySetResult((p, watch.ElapsedMilliseconds)); };

            watch.Start();
            await discovery.StartAsync(identity.PeerId, () => host.ListenAddresses);
            var jsFoundUs = Task.Run(async () =>
            {
                string line = await js.ExpectAsync($"DISCOVERED {identity.PeerId} ", Timeout);
                return (Line: line, Ms: watch.ElapsedMilliseconds);
            });

            // (a) we discovered js, with its listen address
            var (found, weMs) = await weFoundJs.Task.WaitAsync(Timeout);
            Assert.Equal(DiscoverySources.Mdns, found.Source);
            Assert.Contains(jsAddr, found.Addresses);

            // (b) js discovered us, with ours
            var (jsLine, jsMs) = await jsFoundUs.WaitAsync(Timeout);
            var jsSaw = jsLine.Split(' ', 3)[2].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Multiaddr.Parse).ToList();
            Assert.Contains(ourAddr, jsSaw);

            Measure.Report(output, $"mdns interop: js discovered us after {jsMs} ms, we discovered js after {weMs} ms");

            // (c1) we dial js at the address mDNS gave us and ping it
            var discoveredJs = found.Addresses.First(a => a.Equals(jsAddr)).WithPeerId(jsId);
            var outbound = await host.DialAsync(discoveredJs).WaitAsync(Timeout);
            Assert.Equal(jsId, outbound.RemotePeerId);
            Assert.Equal(ConnectionDirection.Outbound, outbound.Direction);
            var rtt = await ping.PingAsync(outbound).WaitAsync(Timeout);
            Assert.InRange(rtt, TimeSpan.Zero, TimeSpan.FromSeconds(5));
            await js.ExpectAsync($"CONNECT {identity.PeerId}", Timeout);

            // (c2) js dials us at the address mDNS gave it (on a new connection: close ours first) and pings us
            await outbound.CloseAsync();
            await js.ExpectAsync($"DISCONNECT {identity.PeerId}", Timeout);
            var inbound = Events.Next<Connection>(h => host.ConnectionOpened += h, c => c.RemotePeerId == jsId && c.Direction == ConnectionDirection.Inbound, Timeout);
            string usForJs = ourAddr.WithPeerId(identity.PeerId).ToString();
            await js.SendAsync($"dial {usForJs}");
            Assert.Equal($"DIAL_OK {identity.PeerId}", await js.ExpectAsync("DIAL_", Timeout));
            await inbound;
            await js.SendAsync($"ping {usForJs}");
            Assert.StartsWith("PING_OK ", await js.ExpectAsync("PING_", Timeout));
        }
        catch
        {
            output.WriteLine("js stderr:\n" + js.StandardError);
            foreach (var (level, category, message) in logs.Entries) output.WriteLine($"{level} {category}: {message}");
            throw;
        }
    }
}
