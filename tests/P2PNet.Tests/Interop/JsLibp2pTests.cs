using System.Security.Cryptography;
using P2PNet.Core;
using P2PNet.Protocols.Identify;
using P2PNet.Protocols.Ping;
using P2PNet.Swarm;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Interop;

/// <summary>
/// Interop with real js-libp2p peers (interop/js, versions locked in its package-lock.json): TCP,
/// multistream-select, Noise, yamux, ping and identify, both directions.
/// </summary>
[Collection(nameof(InteropCollection))]
public sealed class JsLibp2pTests
{
    private const string EchoProtocol = "/p2pnet/echo/1.0.0";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private sealed class Node : IAsyncDisposable
    {
        public Identity Identity { get; } = Identity.Generate();
        public SwarmHost Host { get; }
        public PingService Ping { get; }
        public IdentifyService Identify { get; }
        public Multiaddr Address { get; private set; } = null!;

        public Node()
        {
            Host = new SwarmHost(Identity);
            Ping = new PingService(Host);
            Identify = new IdentifyService(Host);
            Host.SetStreamHandler(EchoProtocol, async (stream, _, ct) =>
            {
                await stream.CopyToAsync(stream, ct);
                await stream.CloseWriteAsync(ct);
            });
        }

        public async Task<Node> ListenAsync()
        {
            Address = (await Host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(Identity.PeerId);
            return this;
        }

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            Identity.Dispose();
        }
    }

    private static async Task<(LineProcess Js, PeerId Id, Multiaddr Addr)> StartJsListenerAsync()
    {
        var js = LineProcess.StartJs("listen", "--port", "0");
        var id = PeerId.Parse((await js.ExpectAsync("PEERID ", Timeout))["PEERID ".Length..]);
        var addr = Multiaddr.Parse((await js.ExpectAsync("ADDR ", Timeout))["ADDR ".Length..]);
        await js.ExpectAsync("READY", Timeout);
        return (js, id, addr);
    }

    [Fact]
    public async Task We_dial_js_negotiate_noise_and_yamux_and_ping_it()
    {
        var (js, jsId, jsAddr) = await StartJsListenerAsync();
        await using var _ = js;
        await using var node = new Node();
        var connection = await node.Host.DialAsync(jsAddr).WaitAsync(Timeout);
        Assert.Equal(jsId, connection.RemotePeerId);
        for (int i = 0; i < 3; i++)
        {
            var rtt = await node.Ping.PingAsync(connection).WaitAsync(Timeout);
            Assert.InRange(rtt, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(5));
        }
        await js.ExpectAsync($"CONNECT {node.Identity.PeerId}", Timeout);
    }

    [Fact]
    public async Task Js_dials_us_and_pings()
    {
        await using var node = await new Node().ListenAsync();
        await using var js = LineProcess.StartJs("dial", node.Address.ToString(), "--pings", "3", "--no-identify");
        Assert.Equal($"CONNECTED {node.Identity.PeerId}", await js.ExpectAsync("CONNECTED", Timeout));
        for (int i = 0; i < 3; i++)
        {
            string line = await js.ExpectAsync("PING_", Timeout);
            Assert.StartsWith("PING_OK ", line);
        }
        await js.ExpectAsync("DONE", Timeout);
        Assert.Equal(0, await js.WaitForExitAsync(Timeout));
    }

    /// <summary>Refuses every peer after the handshake.</summary>
    private sealed class RefuseAll : IConnectionGater
    {
        public int Refused;
        public bool InterceptDial(PeerId? peer, Multiaddr address) => true;
        public bool InterceptAccept(Multiaddr localAddress, Multiaddr remoteAddress) => true;
        public ConnectionRefusal? InterceptSecured(ConnectionDirection direction, PeerId peer, Multiaddr localAddress, Multiaddr remoteAddress)
        {
            Interlocked.Increment(ref Refused);
            return new ConnectionRefusal(RefusalReason.Rejected, "not now");
        }
    }

    [Fact]
    public async Task Js_refused_after_the_handshake_sees_the_close_and_we_keep_serving()
    {
        await using var node = await new Node().ListenAsync();
        var gater = new RefuseAll();
        node.Host.Gater = gater;
        await using (var refused = LineProcess.StartJs("dial", node.Address.ToString(), "--pings", "1", "--no-identify"))
        {
            // js has no refusal protocol: it answers na, we close, and its dial or ping fails.
            await refused.ExpectAsync("ERROR", Timeout);
            Assert.NotEqual(0, await refused.WaitForExitAsync(Timeout));
        }
        Assert.Equal(1, gater.Refused);
        Assert.Empty(node.Host.Connections);

        node.Host.Gater = null;
        await using var js = LineProcess.StartJs("dial", node.Address.ToString(), "--pings", "1", "--no-identify");
        Assert.StartsWith("PING_OK ", await js.ExpectAsync("PING_", Timeout));
        await js.ExpectAsync("DONE", Timeout);
    }

    [Fact]
    public async Task Identify_works_both_ways()
    {
        var (js, jsId, jsAddr) = await StartJsListenerAsync();
        await using var _ = js;
        await using var node = await new Node().ListenAsync();
        var identified = Events.Next<PeerIdentifiedEventArgs>(h => node.Identify.PeerIdentified += h, e => e.Connection.RemotePeerId == jsId, Timeout);

        await node.Host.DialAsync(jsAddr).WaitAsync(Timeout);

        // Our view of js: its PeerId (key), listen address and protocols.
        var info = (await identified).Info;
        Assert.Equal(jsId, info.PublicKey!.ToPeerId());
        Assert.Contains(jsAddr.WithoutPeerId(), info.ListenAddrs);
        Assert.Contains("/ipfs/ping/1.0.0", info.Protocols);
        Assert.Contains("/ipfs/id/1.0.0", info.Protocols);
        Assert.Contains(EchoProtocol, info.Protocols);
        Assert.StartsWith("js-libp2p/", info.AgentVersion);

        // js's view of us.
        string line = await js.ExpectAsync($"IDENTIFY {node.Identity.PeerId} ", Timeout);
        var fields = ParseIdentifyLine(line);
        var protocols = fields["protocols"].Split(',');
        Assert.Contains("/ipfs/ping/1.0.0", protocols);
        Assert.Contains("/ipfs/id/1.0.0", protocols);
        Assert.Contains(EchoProtocol, protocols);
        Assert.Contains(node.Address.WithoutPeerId().ToString(), fields["addrs"].Split(','));
        Assert.StartsWith("p2pnet/", fields["agent"]);
    }

    [Fact]
    public async Task Ten_concurrent_streams_echo_one_MiB_each_through_js()
    {
        var (js, _, jsAddr) = await StartJsListenerAsync();
        await using var __ = js;
        await using var node = new Node();
        var connection = await node.Host.DialAsync(jsAddr).WaitAsync(Timeout);
        await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            byte[] payload = RandomNumberGenerator.GetBytes(1024 * 1024);
            await using var stream = await connection.OpenStreamAsync(EchoProtocol);
            var reader = Task.Run(async () =>
            {
                var received = new MemoryStream();
                await stream.CopyToAsync(received);
                return received.ToArray();
            });
            for (int offset = 0; offset < payload.Length; offset += 60_000)
                await stream.WriteAsync(payload.AsMemory(offset, Math.Min(60_000, payload.Length - offset)));
            await stream.CloseWriteAsync();
            Assert.Equal(payload, await reader.WaitAsync(Timeout));
        })).WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Js_opens_ten_concurrent_echo_streams_on_us()
    {
        await using var node = await new Node().ListenAsync();
        await using var js = LineProcess.StartJs("dial", node.Address.ToString(), "--pings", "1", "--no-identify",
            "--echo-streams", "10", "--echo-bytes", (1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.StartsWith("ECHO_OK", await js.ExpectAsync("ECHO_", TimeSpan.FromSeconds(60)));
        await js.ExpectAsync("DONE", Timeout);
    }

    [Fact]
    public async Task Js_opens_240_streams_at_once_and_none_is_reset()
    {
        // Far past yamux's accept backlog (64) but below its stream limit (256): the burst waits, nothing is reset.
        await using var node = await new Node().ListenAsync();
        await using var js = LineProcess.StartJs("dial", node.Address.ToString(), "--pings", "1", "--no-identify",
            "--echo-streams", "240", "--echo-bytes", (64 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("ECHO_OK 240", await js.ExpectAsync("ECHO_", TimeSpan.FromSeconds(90)));
        await js.ExpectAsync("DONE", Timeout);
    }

    private static Dictionary<string, string> ParseIdentifyLine(string line)
    {
        // IDENTIFY <id> protocols=a,b addrs=x,y agent=<rest of line>
        var result = new Dictionary<string, string>();
        int agent = line.IndexOf(" agent=", StringComparison.Ordinal);
        result["agent"] = line[(agent + 7)..];
        foreach (var part in line[..agent].Split(' ').Skip(2))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            result[part[..eq]] = part[(eq + 1)..];
        }
        return result;
    }
}

/// <summary>Interop tests run one at a time: each starts node processes.</summary>
[CollectionDefinition(nameof(InteropCollection), DisableParallelization = true)]
public sealed class InteropCollection;
