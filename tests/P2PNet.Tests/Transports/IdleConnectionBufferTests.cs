using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Security.Noise;
using P2PNet.Tests.Support;
using P2PNet.Transports.Tcp;
using P2PNet.Upgrade;

namespace P2PNet.Tests.Transports;

/// <summary>A whole idle connection (TCP + Noise + yamux, one open stream) holds no rented read or write buffer.</summary>
public class IdleConnectionBufferTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task An_idle_upgraded_connection_with_an_open_stream_holds_no_buffers()
    {
        using var serverId = Identity.Generate();
        using var clientId = Identity.Generate();
        using var serverUpgrader = new Upgrader(serverId);
        using var clientUpgrader = new Upgrader(clientId);
        var transport = new TcpTransport();
        await using var listener = await transport.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var accept = listener.AcceptAsync().AsTask();
        var raw = await transport.DialAsync(listener.ListenAddress);
        var inbound = Task.Run(async () => await serverUpgrader.UpgradeInboundAsync((await accept)!));
        var client = await clientUpgrader.UpgradeOutboundAsync(raw, serverId.PeerId);
        var server = await inbound.WaitAsync(Timeout);
        await using var clientMuxer = client.Muxer;
        await using var serverMuxer = server.Muxer;

        var acceptStream = serverMuxer.AcceptStreamAsync().AsTask();
        await using var outStream = await clientMuxer.OpenStreamAsync();
        await outStream.WriteAsync(new byte[70_000]);
        await using var inStream = (await acceptStream.WaitAsync(Timeout))!;
        await inStream.ReadExactlyAsync(new byte[70_000]).AsTask().WaitAsync(Timeout);
        var pending = inStream.ReadAsync(new byte[16]).AsTask();

        var sessions = new[] { (YamuxSession)clientMuxer, (YamuxSession)serverMuxer };
        var noise = sessions.Select(s => (NoiseStream)s.Transport).ToArray();
        bool Idle() => sessions.All(s => !s.HoldsReadBuffer && !s.HoldsWriteBuffer) && noise.All(n => !n.HoldsReadBuffer)
            && noise.All(n => n.Inner is not ReadBufferedStream b || !b.HoldsBuffer);
        // A spurious socket wake-up (Linux completes zero-byte reads with nothing to read) may rent a buffer for a
        // moment; what matters is that the idle connection gives every buffer back, so poll for that state.
        await Poll.UntilAsync(Idle, Timeout, "the idle connection to give its buffers back");
        Assert.False(pending.IsCompleted);
    }
}
