using System.Net;
using System.Net.Sockets;

namespace P2PNet.Tests.Negotiation;

/// <summary>A connected loopback TCP socket pair; <see cref="CloseWrite"/> half-closes one side.</summary>
internal sealed class TcpPair : IAsyncDisposable
{
    private TcpPair(Socket dialer, Socket listener)
    {
        DialerSocket = dialer;
        ListenerSocket = listener;
        Dialer = new NetworkStream(dialer, ownsSocket: true);
        Listener = new NetworkStream(listener, ownsSocket: true);
    }

    public Socket DialerSocket { get; }
    public Socket ListenerSocket { get; }
    public NetworkStream Dialer { get; }
    public NetworkStream Listener { get; }

    public static async Task<TcpPair> CreateAsync()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = server.AcceptAsync();
        await client.ConnectAsync(server.LocalEndPoint!).WaitAsync(TimeSpan.FromSeconds(10));
        var accepted = await accept.WaitAsync(TimeSpan.FromSeconds(10));
        accepted.NoDelay = true;
        return new TcpPair(client, accepted);
    }

    public async ValueTask DisposeAsync()
    {
        await Dialer.DisposeAsync();
        await Listener.DisposeAsync();
    }
}
