using System.Net;
using System.Net.Sockets;
using P2PNet.Core;

namespace P2PNet.Transports.Tcp;

/// <summary>
/// TCP over IPv4 and IPv6: <c>/ip4|ip6|dns|dns4|dns6/…/tcp/PORT</c>. With <see cref="TcpTransportOptions.PortReuse"/>
/// (the default on Linux and macOS) dials leave from the port of one of this instance's listeners, so that a NAT
/// maps them to the address peers observe; an instance without listeners (AutoNAT's dial-back transport) dials
/// from fresh ports.
/// </summary>
public sealed class TcpTransport : ITransport
{
    /// <summary>The transport name in <see cref="TransportConnection.Transport"/>.</summary>
    public const string Name = "tcp";

    private readonly TcpTransportOptions _options;
    private readonly Lock _lock = new();
    private readonly List<TcpTransportListener> _listeners = [];

    /// <summary>Creates the transport.</summary>
    public TcpTransport(TcpTransportOptions? options = null) => _options = options ?? new TcpTransportOptions();

    private bool Reusing => _options.PortReuse && (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS());

    /// <inheritdoc />
    public bool CanHandle(Multiaddr address) => address?.TcpTarget is not null;

    /// <inheritdoc />
    public ValueTask<TransportConnection> DialAsync(Multiaddr address, CancellationToken cancellationToken = default) =>
        DialAsync(address, listenPortOnly: false, cancellationToken);

    /// <summary>
    /// Dials <paramref name="address"/>; with <paramref name="listenPortOnly"/> (hole punching) a dial that cannot
    /// leave from the listen port fails instead of falling back to an ephemeral port, whose NAT mapping nobody expects.
    /// </summary>
    internal async ValueTask<TransportConnection> DialAsync(Multiaddr address, bool listenPortOnly, CancellationToken cancellationToken)
    {
        var target = address?.TcpTarget ?? throw new ArgumentException($"not a TCP multiaddr: {address}", nameof(address));
        IPAddress[] candidates = IPAddress.TryParse(target.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(target.Host, target.Family, cancellationToken).ConfigureAwait(false);
        if (candidates.Length == 0) throw new SocketException((int)SocketError.HostNotFound);

        Exception? last = null;
        foreach (var ip in candidates)
        {
            var local = Reusing ? LocalEndPointFor(ip) : null;
            // Never from the very endpoint dialed (a transport shared by two hosts on loopback): TCP would connect to itself.
            if (local is not null && local.Port == target.Port && (local.Address.Equals(ip) || (IPAddress.IsLoopback(ip) && IsAny(local.Address)))) local = null;
            try
            {
                return await ConnectAsync(ip, target.Port, local, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex) when (local is not null && !listenPortOnly && ex.SocketErrorCode is SocketError.AddressAlreadyInUse
                or SocketError.AddressNotAvailable or SocketError.InvalidArgument or SocketError.AccessDenied)
            {
                // That exact connection exists (or lingers in TIME_WAIT): an ephemeral port will do.
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
                last = ex;
                continue;
            }
            try
            {
                return await ConnectAsync(ip, target.Port, null, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
                last = ex;
            }
        }
        throw last!;
    }

    /// <summary>
    /// Dials <paramref name="address"/> from a fresh ephemeral port: the retry after a dial from the listen port met the
    /// peer's own dial to us as one TCP simultaneous open (both ends then start the handshake as its initiator).
    /// </summary>
    internal async ValueTask<TransportConnection> DialFromEphemeralPortAsync(Multiaddr address, CancellationToken cancellationToken)
    {
        var target = address?.TcpTarget ?? throw new ArgumentException($"not a TCP multiaddr: {address}", nameof(address));
        IPAddress[] candidates = IPAddress.TryParse(target.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(target.Host, cancellationToken).ConfigureAwait(false);
        Exception? last = null;
        foreach (var ip in candidates)
        {
            try
            {
                return await ConnectAsync(ip, target.Port, null, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
                last = ex;
            }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>True when <paramref name="connection"/> left from the port of one of this transport's listeners.</summary>
    internal bool IsFromListenPort(TransportConnection connection)
    {
        if (connection.Socket?.LocalEndPoint is not IPEndPoint local) return false;
        lock (_lock)
        {
            foreach (var listener in _listeners)
                if (listener.LocalEndPoint.Port == local.Port) return true;
        }
        return false;
    }

    private async Task<TransportConnection> ConnectAsync(IPAddress ip, int port, IPEndPoint? local, CancellationToken cancellationToken)
    {
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp); // NoDelay is set by Wrap
        try
        {
            if (local is not null)
            {
                SetReuse(socket, reusePort: true);
                socket.Bind(local);
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.ConnectTimeout);
            await socket.ConnectAsync(new IPEndPoint(ip, port), timeout.Token).ConfigureAwait(false);
            return Wrap(socket);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"TCP connect to {ip}:{port} timed out", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // A listener of the target's family to dial from: for a loopback target a loopback or unspecified one, else an
    // unspecified one or one bound to a non-loopback address (the kernel refuses a source that cannot route).
    private IPEndPoint? LocalEndPointFor(IPAddress target)
    {
        bool loopback = IPAddress.IsLoopback(target);
        IPEndPoint? specific = null, any = null;
        lock (_lock)
        {
            foreach (var listener in _listeners)
            {
                var ep = listener.LocalEndPoint;
                if (ep.AddressFamily != target.AddressFamily) continue;
                if (IsAny(ep.Address)) any ??= ep;
                else if (IPAddress.IsLoopback(ep.Address) == loopback) specific ??= ep;
            }
        }
        return loopback ? specific ?? any : any ?? specific;
    }

    private static bool IsAny(IPAddress address) => address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);

    /// <inheritdoc />
    public ValueTask<ITransportListener> ListenAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        var endPoint = address?.ToIPEndPoint() ?? throw new ArgumentException($"can only listen on /ip4|ip6/…/tcp/…: {address}", nameof(address));
        bool reuse = Reusing;
        if (reuse) endPoint = Claim(endPoint);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = false;
            if (reuse) SetReuse(socket, reusePort: true);
            socket.Bind(endPoint);
            socket.Listen(_options.Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var listener = new TcpTransportListener(socket, reuse ? Forget : null);
        if (reuse)
        {
            lock (_lock) _listeners.Add(listener);
        }
        return ValueTask.FromResult<ITransportListener>(listener);
    }

    private void Forget(TcpTransportListener listener)
    {
        lock (_lock) _listeners.Remove(listener);
    }

    // SO_REUSEPORT would let a second listener share a port another socket holds: a plain bind (SO_REUSEADDR only,
    // so TIME_WAIT does not count) checks first that the port is free, and picks one for port 0.
    private static IPEndPoint Claim(IPEndPoint endPoint)
    {
        using var probe = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endPoint.AddressFamily == AddressFamily.InterNetworkV6) probe.DualMode = false;
        SetReuse(probe, reusePort: false);
        probe.Bind(endPoint);
        return (IPEndPoint)probe.LocalEndPoint!;
    }

    // Raw options: SocketOptionName.ReuseAddress maps differently per platform and version.
    private static void SetReuse(Socket socket, bool reusePort)
    {
        byte[] on = BitConverter.GetBytes(1);
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(1, 2, on); // SOL_SOCKET, SO_REUSEADDR
            if (reusePort) socket.SetRawSocketOption(1, 15, on); // SO_REUSEPORT
        }
        else if (OperatingSystem.IsMacOS())
        {
            socket.SetRawSocketOption(0xffff, 0x4, on);
            if (reusePort) socket.SetRawSocketOption(0xffff, 0x200, on);
        }
    }

    internal static TransportConnection Wrap(Socket socket)
    {
        socket.NoDelay = true;
        var local = Multiaddr.FromEndPoint((IPEndPoint)socket.LocalEndPoint!);
        var remote = Multiaddr.FromEndPoint((IPEndPoint)socket.RemoteEndPoint!);
        return new TransportConnection(new ReadBufferedStream(socket), local, remote) { Socket = socket, Transport = TcpTransport.Name };
    }
}
