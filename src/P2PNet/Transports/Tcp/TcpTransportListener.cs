using System.Net;
using System.Net.Sockets;
using P2PNet.Core;

namespace P2PNet.Transports.Tcp;

/// <summary>A bound, listening TCP socket.</summary>
internal sealed class TcpTransportListener : ITransportListener
{
    private readonly Socket _socket;
    private readonly Action<TcpTransportListener>? _onDisposed;
    private int _disposed;

    public TcpTransportListener(Socket socket, Action<TcpTransportListener>? onDisposed = null)
    {
        _socket = socket;
        _onDisposed = onDisposed;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        ListenAddress = Multiaddr.FromEndPoint(LocalEndPoint);
    }

    public Multiaddr ListenAddress { get; }

    /// <summary>The bound endpoint (dials reuse its port).</summary>
    public IPEndPoint LocalEndPoint { get; }

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
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _onDisposed?.Invoke(this);
            _socket.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}
