using P2PNet.Muxers.Yamux;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Muxers.Yamux;

/// <summary>A client and a server yamux session over a real loopback TCP connection.</summary>
internal sealed class YamuxTestPair : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private YamuxTestPair(YamuxSession client, YamuxSession server)
    {
        Client = client;
        Server = server;
    }

    public YamuxSession Client { get; }

    public YamuxSession Server { get; }

    public static async Task<YamuxTestPair> CreateAsync(YamuxOptions? options = null)
    {
        var (client, server) = await LoopbackTcp.ConnectAsync();
        return new YamuxTestPair(new YamuxSession(client, isClient: true, options), new YamuxSession(server, isClient: false, options));
    }

    /// <summary>Over the TCP transport's read buffering, whose zero-byte reads let idle sessions give their buffers back.</summary>
    public static async Task<YamuxTestPair> CreateBufferedAsync(YamuxOptions? options = null)
    {
        var (client, server) = await LoopbackTcp.ConnectBufferedAsync();
        return new YamuxTestPair(new YamuxSession(client, isClient: true, options), new YamuxSession(server, isClient: false, options));
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}
