using System.Net;
using System.Net.Sockets;
using P2PNet.Core;

namespace P2PNet.Transports.Tcp;

/// <summary>TCP over IPv4 and IPv6: <c>/ip4|ip6|dns|dns4|dns6/…/tcp/PORT</c>.</summary>
public sealed class TcpTransport : ITransport
{
    /// <summary>The transport name in <see cref="TransportConnection.Transport"/>.</summary>
    public const string Name = "tcp";

    private readonly TcpTransportOptions _options;

    /// <summary>Creates the transport.</summary>
    public TcpTransport(TcpTransportOptions? options = null) => _options = options ?? new TcpTransportOptions();

    /// <inheritdoc />
    public bool CanHandle(Multiaddr address) => address?.TcpTarget is not null;

    /// <inheritdoc />
    public async ValueTask<TransportConnection> DialAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        var target = address?.TcpTarget ?? throw new ArgumentException($"not a TCP multiaddr: {address}", nameof(address));
        IPAddress[] candidates = IPAddress.TryParse(target.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(target.Host, target.Family, cancellationToken).ConfigureAwait(false);
        if (candidates.Length == 0) throw new SocketException((int)SocketError.HostNotFound);

        Exception? last = null;
        foreach (var ip in candidates)
        {
            var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp); // NoDelay is set by Wrap
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_options.ConnectTimeout);
                await socket.ConnectAsync(new IPEndPoint(ip, target.Port), timeout.Token).ConfigureAwait(false);
                return Wrap(socket);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                last = ex is OperationCanceledException ? new TimeoutException($"TCP connect to {ip}:{target.Port} timed out", ex) : ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw last!;
    }

    /// <inheritdoc />
    public ValueTask<ITransportListener> ListenAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        var endPoint = address?.ToIPEndPoint() ?? throw new ArgumentException($"can only listen on /ip4|ip6/…/tcp/…: {address}", nameof(address));
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = false;
            socket.Bind(endPoint);
            socket.Listen(_options.Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return ValueTask.FromResult<ITransportListener>(new TcpTransportListener(socket));
    }

    internal static TransportConnection Wrap(Socket socket)
    {
        socket.NoDelay = true;
        var local = Multiaddr.FromEndPoint((IPEndPoint)socket.LocalEndPoint!);
        var remote = Multiaddr.FromEndPoint((IPEndPoint)socket.RemoteEndPoint!);
        return new TransportConnection(new ReadBufferedStream(socket), local, remote) { Socket = socket, Transport = TcpTransport.Name };
    }
}
