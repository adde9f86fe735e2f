using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Discovery.LanBroadcast;

/// <summary>
/// One start of <see cref="LanBroadcastDiscovery"/>: a receiver on the wildcard address (broadcasts reach only that),
/// joined to the group on each interface, and one sender per interface bound to its address.
/// </summary>
internal sealed class LanBroadcastRun(LanBroadcastOptions options, PeerId self, Func<IReadOnlyList<Multiaddr>> addresses,
    IReadOnlyList<DiscoveryInterface> interfaces, Action<DiscoveredPeer> report, ILogger logger)
    : DatagramDiscoveryRun(DiscoverySources.Broadcast, interfaces, report, logger)
{
    private readonly List<(DiscoveryInterface Interface, Socket Socket)> _senders = [];
    private Socket? _receiver;

    public override void Open()
    {
        var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _receiver = receiver;
        receiver.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        receiver.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
        receiver.Bind(new IPEndPoint(IPAddress.Any, options.Port));
        foreach (var nic in Interfaces)
        {
            if (options.MulticastGroup is { } group)
            {
                try
                {
                    receiver.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(group, nic.Index));
                }
                catch (SocketException ex)
                {
                    DiscoveryLog.JoinFailed(Logger, DiscoverySources.Broadcast, group, nic.Name, ex.Message + (nic.IsLoopback ? " (on lo, add a route: ip route add 224.0.0.0/4 dev lo)" : ""));
                }
            }
            var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            _senders.Add((nic, sender));
            sender.EnableBroadcast = true;
            sender.MulticastLoopback = true; // nodes on this host hear each other
            sender.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 1);
            sender.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, IPAddress.HostToNetworkOrder(nic.Index));
            sender.Bind(new IPEndPoint(nic.IPv4[0].Address, 0));
        }
    }

    protected override IEnumerable<Task> Loops()
    {
        var limiter = new AnnouncementRateLimiter(options.MaxAnnouncementsPerSecondPerSender, options.MaxAnnouncementsPerSecond, options.MaxTrackedSenders);
        yield return Task.Run(() => ReceiveLoopAsync(_receiver!, LanAnnouncement.MaxDatagramLength, limiter));
        yield return Task.Run(AnnounceLoopAsync);
    }

    public void Announce()
    {
        List<Multiaddr> own;
        try
        {
            own = addresses().Where(a => a.TcpTarget is not null).Select(a => a.WithoutPeerId()).ToList();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            DiscoveryLog.CannotAnnounce(Logger, DiscoverySources.Broadcast, ex.Message);
            return;
        }
        foreach (var (nic, socket) in _senders)
        {
            var heard = nic.Announceable(own).ToList();
            if (heard.Count == 0) continue;
            byte[] datagram;
            try
            {
                datagram = new LanAnnouncement(options.NetworkName, self, heard).Encode();
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                DiscoveryLog.CannotAnnounce(Logger, DiscoverySources.Broadcast, ex.Message);
                continue; // the other interfaces may still be announced on
            }
            var targets = new List<IPAddress>();
            if (options.SubnetBroadcast) targets.AddRange(nic.IPv4.Select(a => a.Broadcast).Distinct());
            if (options.MulticastGroup is { } group) targets.Add(group);
            foreach (var target in targets)
            {
                var to = new IPEndPoint(target, options.Port);
                try
                {
                    socket.SendTo(datagram, to);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    DiscoveryLog.SendFailed(Logger, DiscoverySources.Broadcast, nic.Name, to, ex.Message);
                }
            }
        }
    }

    private async Task AnnounceLoopAsync()
    {
        using var timer = new PeriodicTimer(options.AnnounceInterval);
        try
        {
            do Announce();
            while (await timer.WaitForNextTickAsync(Stopping).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    protected override void Handle(ReadOnlySpan<byte> datagram, DiscoveryInterface nic, IPEndPoint from)
    {
        LanAnnouncement announcement;
        try
        {
            announcement = LanAnnouncement.Decode(datagram);
        }
        catch (DiscoveryException ex)
        {
            Drop(from, ex.Message);
            return;
        }
        if (announcement.PeerId == self) return; // our own, looped back
        if (!string.Equals(announcement.NetworkName, options.NetworkName, StringComparison.Ordinal)) { Drop(from, $"network '{announcement.NetworkName}'"); return; }
        var dialable = announcement.Addresses.Where(DiscoveryInterface.IsDialable).ToList();
        if (dialable.Count == 0) { Drop(from, "no dialable address"); return; }
        Report(new DiscoveredPeer(announcement.PeerId, dialable, DiscoverySources.Broadcast, from));
    }

    protected override void CloseSockets()
    {
        _receiver?.Dispose();
        foreach (var (_, socket) in _senders) socket.Dispose();
    }
}
