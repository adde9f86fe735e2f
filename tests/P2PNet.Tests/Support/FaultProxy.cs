using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace P2PNet.Tests.Support;

/// <summary>
/// A loopback TCP forwarder for fault injection: every connection accepted is forwarded to <c>target</c>. It can reset
/// every forwarded connection on both sides at once (<see cref="ResetAll"/>), or only on the target's side
/// (<see cref="ResetTargetSideOnly"/>): the client's side is kept open and silent, and reset only when the client next
/// sends, as a NAT or middlebox that forgot the connection would.
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<Pair, byte> _pairs = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;

    public FaultProxy(IPEndPoint target)
    {
        _target = target;
        _listener.Start();
        _accept = AcceptAsync();
    }

    /// <summary>The proxy's address (127.0.0.1 and its port).</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Connections forwarded so far (live or not).</summary>
    public int Accepted;

    /// <summary>Resets every forwarded connection on both sides (RST to the client and to the target).</summary>
    public void ResetAll()
    {
        foreach (var pair in _pairs.Keys)
        {
            Reset(pair.Client);
            Reset(pair.Server);
            _pairs.TryRemove(pair, out _);
        }
    }

    /// <summary>
    /// Resets every forwarded connection on the target's side only; the client's side stays open, receives nothing more,
    /// and is reset when the client next sends.
    /// </summary>
    public void ResetTargetSideOnly()
    {
        foreach (var pair in _pairs.Keys)
        {
            pair.Silenced = true;
            Reset(pair.Server);
            _pairs.TryRemove(pair, out _);
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token);
                var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                client.NoDelay = true;
                try
                {
                    await server.ConnectAsync(_target, _stop.Token);
                }
                catch (SocketException)
                {
                    Reset(client);
                    server.Dispose();
                    continue;
                }
                Interlocked.Increment(ref Accepted);
                var pair = new Pair(client, server);
                _pairs.TryAdd(pair, 0);
                _ = PumpAsync(pair, client, server, fromClient: true);
                _ = PumpAsync(pair, server, client, fromClient: false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private static async Task PumpAsync(Pair pair, Socket from, Socket to, bool fromClient)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (pair.Silenced)
                {
                    // The target's side is gone: the client learns of it when it sends.
                    if (fromClient && n > 0) Reset(from);
                    if (n == 0 || fromClient) return;
                    continue;
                }
                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            if (!pair.Silenced)
            {
                Reset(from);
                Reset(to);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept;
        ResetAll();
        _stop.Dispose();
    }

    private sealed class Pair(Socket client, Socket server)
    {
        public Socket Client { get; } = client;
        public Socket Server { get; } = server;
        public volatile bool Silenced;
    }
}
