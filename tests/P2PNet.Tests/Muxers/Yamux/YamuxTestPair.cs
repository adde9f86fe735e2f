using System.Net;
using System.Net.Sockets;
using P2PNet.Muxers.Yamux;

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
        var (client, server) = await ConnectAsync();
        return new YamuxTestPair(new YamuxSession(client, isClient: true, options), new YamuxSession(server, isClient: false, options));
    }

    /// <summary>Connects two loopback sockets and returns their network streams (client, server).</summary>
    public static async Task<(NetworkStream Client, NetworkStream Server)> ConnectAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accept = listener.AcceptSocketAsync();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint).WaitAsync(Timeout);
        var server = await accept.WaitAsync(Timeout);
        server.NoDelay = true;
        return (new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true));
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
