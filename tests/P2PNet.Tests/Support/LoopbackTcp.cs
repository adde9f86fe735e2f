using System.Net;
using System.Net.Sockets;

namespace P2PNet.Tests.Support;

/// <summary>A connected TCP pair on 127.0.0.1 (Nagle off), as network streams that own their sockets.</summary>
internal static class LoopbackTcp
{
    public static async Task<(NetworkStream Client, NetworkStream Server)> ConnectAsync()
    {
        var (client, server) = await ConnectSocketsAsync();
        return (new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true));
    }

    /// <summary>As the TCP transport wraps its sockets: read buffering with zero-byte reads.</summary>
    public static async Task<(P2PNet.Transports.Tcp.ReadBufferedStream Client, P2PNet.Transports.Tcp.ReadBufferedStream Server)> ConnectBufferedAsync()
    {
        var (client, server) = await ConnectSocketsAsync();
        return (new(client), new(server));
    }

    private static async Task<(Socket Client, Socket Server)> ConnectSocketsAsync()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var accept = listener.AcceptSocketAsync();
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint).WaitAsync(TimeSpan.FromSeconds(10));
            var server = await accept.WaitAsync(TimeSpan.FromSeconds(10));
            server.NoDelay = true;
            return (client, server);
        }
        finally
        {
            listener.Stop();
        }
    }
}
