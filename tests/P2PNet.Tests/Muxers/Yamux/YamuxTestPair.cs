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

    /// <summary>Polls a condition until it holds (bounded by <see cref="Timeout"/>).</summary>
    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in time");
            await Task.Delay(5);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}
