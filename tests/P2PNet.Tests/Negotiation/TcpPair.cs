using System.Net.Sockets;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Negotiation;

/// <summary>A connected loopback TCP pair with its sockets (to half-close one side with <see cref="Socket.Shutdown"/>).</summary>
internal sealed class TcpPair : IAsyncDisposable
{
    private TcpPair(NetworkStream dialer, NetworkStream listener)
    {
        Dialer = dialer;
        Listener = listener;
    }

    public Socket DialerSocket => Dialer.Socket;
    public Socket ListenerSocket => Listener.Socket;
    public NetworkStream Dialer { get; }
    public NetworkStream Listener { get; }

    public static async Task<TcpPair> CreateAsync()
    {
        var (dialer, listener) = await LoopbackTcp.ConnectAsync();
        return new TcpPair(dialer, listener);
    }

    public async ValueTask DisposeAsync()
    {
        await Dialer.DisposeAsync();
        await Listener.DisposeAsync();
    }
}
