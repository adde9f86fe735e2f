using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;

namespace P2PNet.Discovery.Mdns;

/// <summary>
/// libp2p mDNS discovery (specs/discovery/mdns.md), compatible with js-libp2p's <c>@libp2p/mdns</c>: on each
/// selected IPv4 interface it joins 224.0.0.251:5353, queries PTR <c>_p2p._udp.local</c> at start and every
/// <see cref="MdnsOptions.QueryInterval"/>, announces itself at start, answers queries for the service (at most
/// once a second per interface, RFC 6762 §6), and reports the peers in responses. Datagrams are rate limited
/// before decoding; ones arriving on an interface that is not selected are ignored.
/// </summary>
public sealed class MdnsDiscovery : IPeerDiscovery
{
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Run? _run;
    private int _disposed;

    /// <summary>Creates the component; <see cref="StartAsync"/> starts it.</summary>
    public MdnsDiscovery(MdnsOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        Options = options ?? new MdnsOptions();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MdnsDiscovery>();
    }

    /// <summary>The settings.</summary>
    public MdnsOptions Options { get; }

    /// <inheritdoc />
    public string Source => DiscoverySources.Mdns;

    /// <inheritdoc />
    public bool IsRunning => _run is not null;

    /// <summary>The interfaces in use while running (chosen at start).</summary>
    public IReadOnlyList<DiscoveryInterface> Interfaces => _run?.Interfaces ?? [];

    /// <summary>Our DNS-SD instance label while running.</summary>
    public string? PeerName => _run?.PeerName;

    /// <summary>Datagrams dropped (malformed, rate limited, wrong interface, bad records) since start.</summary>
    public long Dropped => _run?.Dropped ?? 0;

    /// <inheritdoc />
    public event EventHandler<DiscoveredPeer>? PeerDiscovered;

    /// <inheritdoc />
    public async Task StartAsync(PeerId localPeer, Func<IReadOnlyList<Multiaddr>> listenAddresses, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(localPeer);
        ArgumentNullException.ThrowIfNull(listenAddresses);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_run is not null) return;
            var interfaces = DiscoveryInterface.Select(Options.Interface).Where(i => i.IPv4.Count > 0 && i.Index >= 0).ToList();
            if (interfaces.Count == 0) throw new DiscoveryException(DiscoveryError.NoInterface, "no selected interface has an IPv4 address");
            var run = new Run(this, localPeer, listenAddresses, interfaces, Options.PeerName ?? MdnsRecords.NewPeerName());
            try
            {
                run.Open();
            }
            catch (SocketException ex)
            {
                run.Dispose();
                throw new DiscoveryException(DiscoveryError.SocketFailed, $"mDNS on UDP port {Options.Port}: {ex.Message}", ex);
            }
            if (run.JoinedCount == 0)
            {
                run.Dispose();
                throw new DiscoveryException(DiscoveryError.SocketFailed,
                    $"could not join {Options.MulticastGroup} on any interface (multicast off or no route; on lo: ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo)");
            }
            MdnsLog.Started(_logger, Options.ServiceName, run.PeerName, string.Join("; ", interfaces));
            run.Begin();
            _run = run;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_run is not { } run) return;
            _run = null;
            await run.StopAsync().ConfigureAwait(false);
            MdnsLog.Stopped(_logger);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Sends a query now (also done at start and every interval).</summary>
    public void QueryNow() => _run?.Query();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await StopAsync().ConfigureAwait(false);
    }

    /// <summary>The socket and loops of one start.</summary>
    private sealed class Run(MdnsDiscovery owner, PeerId self, Func<IReadOnlyList<Multiaddr>> addresses, IReadOnlyList<DiscoveryInterface> interfaces, string peerName)
        : IDisposable
    {
        private static readonly TimeSpan MinResponseGap = TimeSpan.FromSeconds(1); // RFC 6762 §6: once a second per interface
        private readonly CancellationTokenSource _stop = new();
        private readonly Dictionary<int, DiscoveryInterface> _byIndex = interfaces.ToDictionary(i => i.Index);
        private readonly Dictionary<int, long> _lastResponse = [];
        private readonly HashSet<int> _pendingResponse = [];
        private readonly Lock _sendLock = new();
        private Socket? _socket;
        private Task _loops = Task.CompletedTask;
        private long _dropped;

        public IReadOnlyList<DiscoveryInterface> Interfaces => interfaces;

        public string PeerName => peerName;

        public long Dropped => Interlocked.Read(ref _dropped);

        public int JoinedCount { get; private set; }

        private MdnsOptions Options => owner.Options;

        public void Open()
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            _socket = socket;
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true); // other responders on this host share 5353
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
            socket.MulticastLoopback = true; // nodes on this host hear each other
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 255); // RFC 6762 §11; link-local group: never routed
            socket.Bind(new IPEndPoint(IPAddress.Any, Options.Port));
            foreach (var nic in interfaces)
            {
                try
                {
                    socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(Options.MulticastGroup, nic.Index));
                    JoinedCount++;
                }
                catch (SocketException ex)
                {
                    MdnsLog.JoinFailed(owner._logger, Options.MulticastGroup, nic.Name, ex.Message + (nic.IsLoopback ? " (on lo, add a route: ip route add 224.0.0.0/4 dev lo)" : ""));
                }
            }
        }

        public void Begin() => _loops = Task.WhenAll(Task.Run(ReceiveLoopAsync), Task.Run(QueryLoopAsync));

        public void Query()
        {
            byte[] query = DnsCodec.Encode(MdnsRecords.Query(Options.ServiceName));
            foreach (var nic in interfaces) Send(nic, query, new IPEndPoint(Options.MulticastGroup, Options.Port));
        }

        private async Task QueryLoopAsync()
        {
            try
            {
                Query();
                if (Options.Respond)
                {
                    // Announce (RFC 6762 §8.3): running nodes learn of us without waiting for their next query.
                    foreach (var nic in interfaces) Respond(nic, null);
                }
                using var timer = new PeriodicTimer(Options.QueryInterval);
                while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false)) Query();
            }
            catch (OperationCanceledException)
            {
            }
        }

        /// <summary>Multicasts our response on <paramref name="nic"/>, or unicasts it to the querier (legacy or QU query).</summary>
        private void Respond(DiscoveryInterface nic, (IPEndPoint To, DnsMessage Query)? unicast)
        {
            byte[] datagram;
            try
            {
                // Loopback addresses mean nothing to another host: only loopback interfaces hear of them.
                var own = addresses().Where(a => a.TcpTarget is not null)
                    .Where(a => nic.IsLoopback || a.ToIPEndPoint() is not { } ep || !IPAddress.IsLoopback(ep.Address))
                    .ToList();
                if (own.Count == 0) return;
                var response = MdnsRecords.Response(Options.ServiceName, peerName, self, own, Options.Ttl, Options.MaxAddressesPerPeer);
                if (unicast is { } u && u.To.Port != Options.Port)
                {
                    // A legacy unicast query (RFC 6762 §6.7): echo its id and question.
                    response.Id = u.Query.Id;
                    response.Questions.AddRange(u.Query.Questions);
                }
                datagram = DnsCodec.Encode(response);
            }
            catch (Exception ex) when (ex is DnsFormatException or ArgumentException or InvalidOperationException)
            {
                MdnsLog.SendFailed(owner._logger, nic.Name, "cannot build the response: " + ex.Message);
                return;
            }
            Send(nic, datagram, unicast?.To ?? new IPEndPoint(Options.MulticastGroup, Options.Port));
        }

        private void Send(DiscoveryInterface nic, byte[] datagram, IPEndPoint to)
        {
            lock (_sendLock) // the outgoing interface is a socket option: set it and send as one step
            {
                try
                {
                    // By address, not index: with an index Linux sends from 0.0.0.0 on lo (127.0.0.1 is host-scoped),
                    // and a responder answering our source would answer nobody.
                    _socket!.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, nic.IPv4[0].Address.GetAddressBytes());
                    _socket.SendTo(datagram, to);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    if (!_stop.IsCancellationRequested) MdnsLog.SendFailed(owner._logger, nic.Name, $"to {to}: {ex.Message}");
                }
            }
        }

        /// <summary>Answers a multicast query on <paramref name="nic"/>: after 20–120 ms (shared records), at most once a second.</summary>
        private async Task RespondMulticastAsync(DiscoveryInterface nic)
        {
            lock (_pendingResponse)
            {
                if (!_pendingResponse.Add(nic.Index)) return; // one is already on its way
            }
            try
            {
                var delay = TimeSpan.FromMilliseconds(20 + RandomNumberGenerator.GetInt32(100));
                lock (_pendingResponse)
                {
                    if (_lastResponse.TryGetValue(nic.Index, out long last))
                    {
                        var wait = MinResponseGap - TimeProvider.System.GetElapsedTime(last);
                        if (wait > delay) delay = wait;
                    }
                }
                await Task.Delay(delay, _stop.Token).ConfigureAwait(false);
                lock (_pendingResponse)
                {
                    _pendingResponse.Remove(nic.Index);
                    _lastResponse[nic.Index] = TimeProvider.System.GetTimestamp();
                }
                Respond(nic, null);
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task ReceiveLoopAsync()
        {
            var limiter = new AnnouncementRateLimiter(Options.MaxMessagesPerSecondPerSender, Options.MaxMessagesPerSecond, Options.MaxTrackedSenders);
            var buffer = new byte[DnsCodec.MaxMessageSize + 1];
            var any = new IPEndPoint(IPAddress.Any, 0);
            while (!_stop.IsCancellationRequested)
            {
                SocketReceiveMessageFromResult received;
                try
                {
                    received = await _socket!.ReceiveMessageFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                catch (SocketException ex)
                {
                    MdnsLog.Ignored(owner._logger, any, "receive failed: " + ex.Message);
                    continue;
                }
                var from = (IPEndPoint)received.RemoteEndPoint;
                if (!_byIndex.TryGetValue(received.PacketInformation.Interface, out var nic)) { Drop(from, "arrived on an interface that is not selected"); continue; }
                if (!limiter.Allow(from.Address))
                {
                    Interlocked.Increment(ref _dropped);
                    MdnsLog.RateLimited(owner._logger, from.Address);
                    continue;
                }
                if (received.ReceivedBytes > DnsCodec.MaxMessageSize) { Drop(from, "datagram too long"); continue; }
                DnsMessage message;
                try
                {
                    message = DnsCodec.Decode(buffer.AsSpan(0, received.ReceivedBytes));
                }
                catch (DnsFormatException ex)
                {
                    Drop(from, ex.Message);
                    continue;
                }
                if (message.IsResponse) OnResponse(message, from);
                else if (Options.Respond && MdnsRecords.AsksFor(message, Options.ServiceName)) OnQuery(message, nic, from);
            }
        }

        private void OnQuery(DnsMessage query, DiscoveryInterface nic, IPEndPoint from)
        {
            bool unicast = from.Port != Options.Port || query.Questions.Any(q => q.UnicastResponse);
            if (unicast) Respond(nic, (from, query));
            else _ = RespondMulticastAsync(nic);
        }

        private void OnResponse(DnsMessage response, IPEndPoint from)
        {
            var peers = MdnsRecords.Peers(response, Options.ServiceName, peerName, Options.MaxPeersPerResponse, Options.MaxAddressesPerPeer, out var problems);
            foreach (string problem in problems) Drop(from, problem);
            foreach (var (peer, peerAddresses) in peers)
            {
                if (peer == self) continue; // our own announcement under another name (a restart)
                var dialable = peerAddresses.Where(a => a.TcpTarget is not null).ToList();
                if (dialable.Count == 0) { Drop(from, $"{peer}: no dialable address"); continue; }
                try
                {
                    owner.PeerDiscovered?.Invoke(owner, new DiscoveredPeer(peer, dialable, DiscoverySources.Mdns, from));
                }
                catch (Exception ex)
                {
                    MdnsLog.Ignored(owner._logger, from, "a PeerDiscovered handler threw: " + ex.Message);
                }
            }
        }

        private void Drop(IPEndPoint from, string reason)
        {
            Interlocked.Increment(ref _dropped);
            MdnsLog.Ignored(owner._logger, from, reason);
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            Close();
            try
            {
                await _loops.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
            _stop.Dispose();
        }

        public void Dispose()
        {
            Close();
            _stop.Dispose();
        }

        private void Close()
        {
            lock (_sendLock) _socket?.Dispose();
        }
    }
}
