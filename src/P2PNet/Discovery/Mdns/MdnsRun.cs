using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Discovery.Mdns;

/// <summary>
/// One start of <see cref="MdnsDiscovery"/>: one socket on the wildcard address and the mDNS port (shared with
/// other responders on this host), joined to the group on each interface, sending on one interface at a time.
/// </summary>
internal sealed class MdnsRun(MdnsOptions options, PeerId self, Func<IReadOnlyList<Multiaddr>> addresses,
    IReadOnlyList<DiscoveryInterface> interfaces, string peerName, Action<DiscoveredPeer> report, ILogger logger)
    : DatagramDiscoveryRun(DiscoverySources.Mdns, interfaces, report, logger)
{
    private static readonly TimeSpan MinResponseGap = TimeSpan.FromSeconds(1); // RFC 6762 §6: once a second per interface
    private readonly Dictionary<int, long> _lastResponse = [];
    private readonly HashSet<int> _pendingResponse = [];
    private readonly Lock _sendLock = new();
    private Socket? _socket;

    public string PeerName => peerName;

    public override void Open()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket = socket;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true); // other responders on this host share 5353
        socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
        socket.MulticastLoopback = true; // nodes on this host hear each other
        socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 255); // RFC 6762 §11; link-local group: never routed
        socket.Bind(new IPEndPoint(IPAddress.Any, options.Port));
        int joined = 0;
        foreach (var nic in Interfaces)
        {
            try
            {
                socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(options.MulticastGroup, nic.Index));
                joined++;
            }
            catch (SocketException ex)
            {
                DiscoveryLog.JoinFailed(Logger, DiscoverySources.Mdns, options.MulticastGroup, nic.Name, ex.Message + (nic.IsLoopback ? " (on lo, add a route: ip route add 224.0.0.0/4 dev lo)" : ""));
            }
        }
        if (joined == 0)
        {
            throw new DiscoveryException(DiscoveryError.SocketFailed,
                $"could not join {options.MulticastGroup} on any interface (multicast off or no route; on lo: ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo)");
        }
    }

    protected override IEnumerable<Task> Loops()
    {
        var limiter = new AnnouncementRateLimiter(options.MaxMessagesPerSecondPerSender, options.MaxMessagesPerSecond, options.MaxTrackedSenders);
        yield return Task.Run(() => ReceiveLoopAsync(_socket!, DnsCodec.MaxMessageSize, limiter));
        yield return Task.Run(QueryLoopAsync);
    }

    public void Query()
    {
        byte[] query = DnsCodec.Encode(MdnsRecords.Query(options.ServiceName));
        foreach (var nic in Interfaces) Send(nic, query, new IPEndPoint(options.MulticastGroup, options.Port));
    }

    private async Task QueryLoopAsync()
    {
        try
        {
            Query();
            if (options.Respond)
            {
                // Announce (RFC 6762 §8.3): running nodes learn of us without waiting for their next query.
                foreach (var nic in Interfaces) Respond(nic, null);
            }
            using var timer = new PeriodicTimer(options.QueryInterval);
            while (await timer.WaitForNextTickAsync(Stopping).ConfigureAwait(false)) Query();
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
            var own = nic.Announceable(addresses().Where(a => a.TcpTarget is not null)).ToList();
            if (own.Count == 0) return;
            var response = MdnsRecords.Response(options.ServiceName, peerName, self, own, options.Ttl, options.MaxAddressesPerPeer);
            if (unicast is { } u && u.To.Port != options.Port)
            {
                // A legacy unicast query (RFC 6762 §6.7): echo its id and question.
                response.Id = u.Query.Id;
                response.Questions.AddRange(u.Query.Questions);
            }
            datagram = DnsCodec.Encode(response);
        }
        catch (Exception ex) when (ex is DnsFormatException or ArgumentException or InvalidOperationException)
        {
            DiscoveryLog.CannotAnnounce(Logger, DiscoverySources.Mdns, ex.Message);
            return;
        }
        Send(nic, datagram, unicast?.To ?? new IPEndPoint(options.MulticastGroup, options.Port));
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
                if (!Stopping.IsCancellationRequested) DiscoveryLog.SendFailed(Logger, DiscoverySources.Mdns, nic.Name, to, ex.Message);
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
            await Task.Delay(delay, Stopping).ConfigureAwait(false);
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

    protected override void Handle(ReadOnlySpan<byte> datagram, DiscoveryInterface nic, IPEndPoint from)
    {
        DnsMessage message;
        try
        {
            message = DnsCodec.Decode(datagram);
        }
        catch (DnsFormatException ex)
        {
            Drop(from, ex.Message);
            return;
        }
        if (message.IsResponse) OnResponse(message, from);
        else if (options.Respond && MdnsRecords.AsksFor(message, options.ServiceName)) OnQuery(message, nic, from);
    }

    private void OnQuery(DnsMessage query, DiscoveryInterface nic, IPEndPoint from)
    {
        bool unicast = from.Port != options.Port || query.Questions.Any(q => q.UnicastResponse);
        if (unicast) Respond(nic, (from, query));
        else _ = RespondMulticastAsync(nic);
    }

    private void OnResponse(DnsMessage response, IPEndPoint from)
    {
        var peers = MdnsRecords.Peers(response, options.ServiceName, peerName, options.MaxPeersPerResponse, options.MaxAddressesPerPeer, out var problems);
        foreach (string problem in problems) Drop(from, problem);
        foreach (var (peer, peerAddresses) in peers)
        {
            if (peer == self) continue; // our own announcement under another name (a restart)
            var dialable = peerAddresses.Where(a => a.TcpTarget is not null).ToList();
            if (dialable.Count == 0) { Drop(from, $"{peer}: no dialable address"); continue; }
            Report(new DiscoveredPeer(peer, dialable, DiscoverySources.Mdns, from));
        }
    }

    protected override void CloseSockets()
    {
        lock (_sendLock) _socket?.Dispose();
    }
}
