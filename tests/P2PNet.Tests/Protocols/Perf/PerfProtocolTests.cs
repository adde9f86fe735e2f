using P2PNet.Core;
using P2PNet.Protocols.Perf;
using P2PNet.Swarm;

namespace P2PNet.Tests.Protocols.Perf;

/// <summary>/perf/1.0.0 between two hosts on loopback TCP.</summary>
public sealed class PerfProtocolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static async Task<(SwarmHost Server, SwarmHost Client, Connection Connection, PerfService Perf)> ConnectAsync(PerfOptions? serverOptions = null)
    {
        var serverId = Identity.Generate();
        var server = new SwarmHost(serverId);
        _ = new PerfService(server, serverOptions);
        var addr = (await server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(serverId.PeerId);
        var client = new SwarmHost(Identity.Generate());
        var perf = new PerfService(client);
        var connection = await client.DialAsync(addr).WaitAsync(Timeout);
        return (server, client, connection, perf);
    }

    [Theory]
    [InlineData(0UL, 0UL)]
    [InlineData(1UL, 0UL)]
    [InlineData(0UL, 100_000UL)]
    [InlineData(8_000_000UL, 16_000_000UL)]
    public async Task Client_gets_the_bytes_it_asked_for(ulong upload, ulong download)
    {
        var (server, client, connection, perf) = await ConnectAsync();
        await using var _s = server;
        await using var _c = client;
        var result = await perf.RunAsync(connection, upload, download).WaitAsync(Timeout);
        Assert.Equal(upload, result.UploadBytes);
        Assert.Equal(download, result.DownloadBytes);
        if (download > 0) Assert.True(result.DownloadBytesPerSecond > 0);
    }

    [Fact]
    public async Task Request_over_the_server_limit_is_refused_and_the_host_keeps_serving()
    {
        var (server, client, connection, perf) = await ConnectAsync(new PerfOptions { MaxSendBytes = 1000 });
        await using var _s = server;
        await using var _c = client;
        await Assert.ThrowsAnyAsync<IOException>(() => perf.RunAsync(connection, 0, 1001).WaitAsync(Timeout));
        var ok = await perf.RunAsync(connection, 10, 1000).WaitAsync(Timeout);
        Assert.Equal(1000UL, ok.DownloadBytes);
    }
}
