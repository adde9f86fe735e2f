using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Discovery.Mdns;

/// <summary>
/// One start of <see cref="MdnsDiscovery"/>: one socket per address family on the wildcard address and the mDNS
/// port (shared with other responders on this host), joined to the family's group on each interface that has
/// that family, sending on one interface at a time. A family that cannot join anywhere is left out (and logged);
/// the start fails only when neither joined.
/// </summary>
internal sealed class MdnsRun(MdnsOptions options, PeerId self, Func<IReadOnlyList<Multiaddr>> addresses,
    IReadOnlyList<DiscoveryInterface> interfaces, string peerName, Action<DiscoveredPeer> report, ILogger logger)
    : DatagramDiscoveryRun(DiscoverySources.Mdns, interfaces, report, logger)
{
    private static readonly TimeSpan MinResponseGap = TimeSpan.FromSeconds(1); // RFC 6762 §6: once a second per interface
    private readonly Dictionary<string, long> _lastResponse = [];
    private readonly HashSet<string> _pendingResponse = [];
    private readonly Lock _sendLock = new();
    private readonly HashSet<string> _joined4 = []; // interface names; written only by Open
    private readonly HashSet<string> _joined6 = [];
    private Socket? _socket4;
    private Socket? _socket6;

    public string PeerName => peerName;

    public override void Open()
    {
        var problems = new List<string>();
        var v4 = Interfaces.Where(i => i.SupportsIPv4).ToList();
        var v6 = options.IPv6 ? Interfaces.Where(i => i.SupportsIPv6).ToList() : [];
        if (v4.Count > 0) _socket4 = OpenFamily(AddressFamily.InterNetwork, v4, _joined4, problems);
        if (v6.Count > 0) _socket6 = OpenFamily(AddressFamily.InterNetworkV6, v6, _joined6, problems);
        if (_socket4 is null && _socket6 is null)
        {
            throw new DiscoveryException(DiscoveryError.SocketFailed, problems.Count > 0 ? string.Join("; ", problems) :
                "no selected interface has an address of an enabled family");
        }
    }

    /// <summary>The socket of one family joined on <paramref name="nics"/>, or null (with the reason in <paramref name="problems"/>) when it joined nowhere.</summary>
    private Socket? OpenFamily(AddressFamily family, List<DiscoveryInterface> nics, HashSet<string> joined, List<string> problems)
    {
        bool ipv6 = family == AddressFamily.InterNetworkV6;
        var group = ipv6 ? options.MulticastGroupV6 : options.MulticastGroup;
        string hint = ipv6 ? "" : " (multicast off or no route; on lo: ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo)";
        Socket? socket = null;
        try
        {
            socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
            var level = ipv6 ? SocketOptionLevel.IPv6 : SocketOptionLevel.IP;
            if (ipv6) socket.DualMode = false; // IPv6 only: IPv4 datagrams arrive on the IPv4 socket
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true); // other responders on this host share 5353
            socket.SetSocketOption(level, SocketOptionName.PacketInformation, true);
            socket.SetSocketOption(level, SocketOptionName.MulticastLoopback, true); // nodes on this host hear each other
            socket.SetSocketOption(level, SocketOptionName.MulticastTimeToLive, 255); // RFC 6762 §11 (hop limit for IPv6); link-local group: never routed
            socket.Bind(new IPEndPoint(ipv6 ? IPAddress.IPv6Any : IPAddress.Any, options.Port));
            foreach (var nic in nics)
            {
                try
                {
                    if (ipv6) socket.SetSocketOption(level, SocketOptionName.AddMembership, new IPv6MulticastOption(group, nic.IPv6Index));
                    else socket.SetSocketOption(level, SocketOptionName.AddMembership, new MulticastOption(group, nic.Index));
                    joined.Add(nic.Name);
                }
                catch (SocketException ex)
                {
                    DiscoveryLog.JoinFailed(Logger, DiscoverySources.Mdns, group, nic.Name, ex.Message + (nic.IsLoopback ? hint : ""));
                }
            }
        }
        catch (SocketException ex) // no such family here (IPv6 disabled), or the port is taken
        {
            socket?.Dispose();
            problems.Add($"{group}: {ex.Message}");
            MdnsLog.FamilyOff(Logger, group, ex.Message);
            return null;
        }
        if (joined.Count == 0)
        {
            socket.Dispose();
            problems.Add($"could not join {group} on any interface{hint}");
            MdnsLog.FamilyOff(Logger, group, "could not join on any interface");
            return null;
        }
        return socket;
    }

    protected override IEnumerable<Task> Loops()
    {
        var limiter = new AnnouncementRateLimiter(options.MaxMessagesPerSecondPerSender, options.MaxMessagesPerSecond, options.MaxTrackedSenders);
        if (_socket4 is { } socket4) yield return Task.Run(() => ReceiveLoopAsync(socket4, DnsCodec.MaxMessageSize, limiter));
        if (_socket6 is { } socket6) yield return Task.Run(() => ReceiveLoopAsync(socket6, DnsCodec.MaxMessageSize, limiter));
        yield return Task.Run(QueryLoopAsync);
    }

    public void Query()
    {
        byte[] query = DnsCodec.Encode(MdnsRecords.Query(options.ServiceName));
        foreach (var nic in Interfaces) Multicast(nic, query);
    }

    /// <summary>Sends <paramref name="datagram"/> to the group of each family joined on <paramref name="nic"/>.</summary>
    private void Multicast(DiscoveryInterface nic, byte[] datagram)
    {
        if (_joined4.Contains(nic.Name)) Send(nic, datagram, new IPEndPoint(options.MulticastGroup, options.Port));
        if (_joined6.Contains(nic.Name)) Send(nic, datagram, new IPEndPoint(new IPAddress(options.MulticastGroupV6.GetAddressBytes(), nic.IPv6Index), options.Port));
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

    /// <summary>Multicasts our response on <paramref name="nic"/> (both families), or unicasts it to the querier (legacy or QU query).</summary>
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
        if (unicast is { } to) Send(nic, datagram, to.To);
        else Multicast(nic, datagram);
    }

    private void Send(DiscoveryInterface nic, byte[] datagram, IPEndPoint to)
    {
        lock (_sendLock) // the outgoing interface is a socket option: set it and send as one step
        {
            try
            {
                if (to.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    if (_socket6 is not { } socket6) return;
                    socket6.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface, nic.IPv6Index);
                    socket6.SendTo(datagram, to);
                }
                else
                {
                    if (_socket4 is not { } socket4) return;
                    // By address, not index: with an index Linux sends from 0.0.0.0 on lo (127.0.0.1 is host-scoped),
                    // and a responder answering our source would answer nobody.
                    socket4.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, nic.IPv4[0].Address.GetAddressBytes());
                    socket4.SendTo(datagram, to);
                }
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressNotAvailable && to.AddressFamily == AddressFamily.InterNetworkV6)
            {
                // An interface just up: its link-local address is tentative (duplicate address detection, about a
                // second), so there is no source address for a link-local group yet. The next send will do.
                MdnsLog.NoIPv6SourceYet(Logger, nic.Name, to);
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
            if (!_pendingResponse.Add(nic.Name)) return; // one is already on its way
        }
        try
        {
            var delay = TimeSpan.FromMilliseconds(20 + RandomNumberGenerator.GetInt32(100));
            lock (_pendingResponse)
            {
                if (_lastResponse.TryGetValue(nic.Name, out long last))
                {
                    var wait = MinResponseGap - TimeProvider.System.GetElapsedTime(last);
                    if (wait > delay) delay = wait;
                }
            }
            await Task.Delay(delay, Stopping).ConfigureAwait(false);
            lock (_pendingResponse)
            {
                _pendingResponse.Remove(nic.Name);
                _lastResponse[nic.Name] = TimeProvider.System.GetTimestamp();
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
            var dialable = peerAddresses.Where(DiscoveryInterface.IsDialable).ToList();
            if (dialable.Count == 0) { Drop(from, $"{peer}: no dialable address"); continue; }
            Report(new DiscoveredPeer(peer, dialable, DiscoverySources.Mdns, from));
        }
    }

    protected override void CloseSockets()
    {
        lock (_sendLock)
        {
            _socket4?.Dispose();
            _socket6?.Dispose();
        }
    }
}
