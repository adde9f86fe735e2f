using System.Net;
using System.Net.Sockets;

namespace P2PNet.Tests.Support;

/// <summary>A connected TCP pair on 127.0.0.1 (Nagle off), as network streams that own their sockets.</summary>
internal static class LoopbackTcp
{
    public static async Task<(NetworkStream Client, NetworkStream Server)> ConnectAsync()
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
            return (new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true));
        }
        finally
        {
            listener.Stop();
        }
    }
}
