using System.Net;
using System.Net.Sockets;
using P2PNet.Core;

namespace P2PNet.Transports.Tcp;

/// <summary>A bound, listening TCP socket.</summary>
internal sealed class TcpTransportListener : ITransportListener
{
    private readonly Socket _socket;
    private int _disposed;

    public TcpTransportListener(Socket socket)
    {
        _socket = socket;
        ListenAddress = Multiaddr.FromEndPoint((IPEndPoint)socket.LocalEndPoint!);
    }

    public Multiaddr ListenAddress { get; }

    public async ValueTask<TransportConnection?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (Volatile.Read(ref _disposed) != 0) return null;
            try
            {
                var socket = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    return TcpTransport.Wrap(socket);
                }
                catch (SocketException)
                {
                    socket.Dispose(); // the peer vanished between accept and getpeername: skip it
                }
            }
            catch (Exception ex) when (ex is ObjectDisposedException || (ex is SocketException && Volatile.Read(ref _disposed) != 0))
            {
                return null;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                // a client that reset before we accepted it: keep listening
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
