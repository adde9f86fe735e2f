using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;

namespace P2PNet.Discovery.LanBroadcast;

/// <summary>
/// P2PNet-style LAN discovery: every <see cref="LanBroadcastOptions.AnnounceInterval"/> it sends a
/// <see cref="LanAnnouncement"/> (PeerId, listen addresses, network name) to the subnet broadcast address of
/// each selected IPv4 interface and to an IPv4 multicast group (TTL 1: never routed off the link), and reports
/// announcements of other nodes of the same network name. Datagrams are rate limited per sender and in total
/// before decoding; ones arriving on an interface that is not selected are ignored. Start and stop may be
/// called at any time.
/// </summary>
public sealed class LanBroadcastDiscovery : IPeerDiscovery
{
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Run? _run;
    private int _disposed;

    /// <summary>Creates the component; <see cref="StartAsync"/> starts it.</summary>
    public LanBroadcastDiscovery(LanBroadcastOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        Options = options ?? new LanBroadcastOptions();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<LanBroadcastDiscovery>();
    }

    /// <summary>The settings.</summary>
    public LanBroadcastOptions Options { get; }

    /// <inheritdoc />
    public string Source => DiscoverySources.Broadcast;

    /// <inheritdoc />
    public bool IsRunning => _run is not null;

    /// <summary>The interfaces in use while running (chosen at start).</summary>
    public IReadOnlyList<DiscoveryInterface> Interfaces => _run?.Interfaces ?? [];

    /// <summary>Datagrams dropped (malformed, rate limited, foreign network, wrong interface) since start.</summary>
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
            var run = new Run(this, localPeer, listenAddresses, interfaces);
            try
            {
                run.Open();
            }
            catch (SocketException ex)
            {
                run.Dispose();
                throw new DiscoveryException(DiscoveryError.SocketFailed, $"UDP port {Options.Port}: {ex.Message}", ex);
            }
            LanBroadcastLog.Started(_logger, Options.Port, string.Join("; ", interfaces));
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
            LanBroadcastLog.Stopped(_logger);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Sends an announcement now (also done every interval).</summary>
    public void AnnounceNow() => _run?.Announce();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await StopAsync().ConfigureAwait(false);
    }

    /// <summary>The sockets and loops of one start.</summary>
    private sealed class Run(LanBroadcastDiscovery owner, PeerId self, Func<IReadOnlyList<Multiaddr>> addresses, IReadOnlyList<DiscoveryInterface> interfaces) : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<(DiscoveryInterface Interface, Socket Socket)> _senders = [];
        private readonly HashSet<int> _indexes = [.. interfaces.Select(i => i.Index)];
        private Socket? _receiver;
        private Task _loops = Task.CompletedTask;
        private long _dropped;

        public IReadOnlyList<DiscoveryInterface> Interfaces => interfaces;

        public long Dropped => Interlocked.Read(ref _dropped);

        private LanBroadcastOptions Options => owner.Options;

        public void Open()
        {
            var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            _receiver = receiver;
            receiver.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            receiver.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
            receiver.Bind(new IPEndPoint(IPAddress.Any, Options.Port)); // broadcasts only reach the wildcard address
            foreach (var nic in interfaces)
            {
                if (Options.MulticastGroup is { } group)
                {
                    try
                    {
                        receiver.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(group, nic.Index));
                    }
                    catch (SocketException ex)
                    {
                        LanBroadcastLog.JoinFailed(owner._logger, group, nic.Name, ex.Message + (nic.IsLoopback ? " (on lo, add a route: ip route add 224.0.0.0/4 dev lo)" : ""));
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

        public void Begin() => _loops = Task.WhenAll(Task.Run(ReceiveLoopAsync), Task.Run(AnnounceLoopAsync));

        public void Announce()
        {
            List<Multiaddr> own;
            try
            {
                own = addresses().Where(a => a.TcpTarget is not null).Select(a => a.WithoutPeerId()).ToList();
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                LanBroadcastLog.Ignored(owner._logger, new IPEndPoint(IPAddress.Any, 0), "cannot announce: " + ex.Message);
                return;
            }
            foreach (var (nic, socket) in _senders)
            {
                // Loopback addresses mean nothing to another host (it would dial itself): only loopback interfaces hear of them.
                var heard = own.Where(a => nic.IsLoopback || a.ToIPEndPoint() is not { } ep || !IPAddress.IsLoopback(ep.Address)).ToList();
                if (heard.Count == 0) continue;
                byte[] datagram;
                try
                {
                    datagram = new LanAnnouncement(Options.NetworkName, self, heard).Encode();
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
                {
                    LanBroadcastLog.Ignored(owner._logger, new IPEndPoint(IPAddress.Any, 0), "cannot announce: " + ex.Message);
                    return;
                }
                var targets = new List<IPAddress>();
                if (Options.SubnetBroadcast) targets.AddRange(nic.IPv4.Select(a => a.Broadcast).Distinct());
                if (Options.MulticastGroup is { } group) targets.Add(group);
                foreach (var target in targets)
                {
                    try
                    {
                        socket.SendTo(datagram, new IPEndPoint(target, Options.Port));
                    }
                    catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                    {
                        LanBroadcastLog.SendFailed(owner._logger, nic.Name, target, ex.Message);
                    }
                }
            }
        }

        private async Task AnnounceLoopAsync()
        {
            using var timer = new PeriodicTimer(Options.AnnounceInterval);
            try
            {
                do Announce();
                while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task ReceiveLoopAsync()
        {
            var limiter = new AnnouncementRateLimiter(Options.MaxAnnouncementsPerSecondPerSender, Options.MaxAnnouncementsPerSecond, Options.MaxTrackedSenders);
            var buffer = new byte[LanAnnouncement.MaxDatagramLength + 1];
            var any = new IPEndPoint(IPAddress.Any, 0);
            while (!_stop.IsCancellationRequested)
            {
                SocketReceiveMessageFromResult received;
                try
                {
                    received = await _receiver!.ReceiveMessageFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
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
                    LanBroadcastLog.Ignored(owner._logger, any, "receive failed: " + ex.Message);
                    continue;
                }
                var from = (IPEndPoint)received.RemoteEndPoint;
                if (!_indexes.Contains(received.PacketInformation.Interface)) { Drop(from, "arrived on an interface that is not selected"); continue; }
                if (!limiter.Allow(from.Address))
                {
                    Interlocked.Increment(ref _dropped);
                    LanBroadcastLog.RateLimited(owner._logger, from.Address);
                    continue;
                }
                if (received.ReceivedBytes > LanAnnouncement.MaxDatagramLength) { Drop(from, "datagram too long"); continue; }
                LanAnnouncement announcement;
                try
                {
                    announcement = LanAnnouncement.Decode(buffer.AsSpan(0, received.ReceivedBytes));
                }
                catch (DiscoveryException ex)
                {
                    Drop(from, ex.Message);
                    continue;
                }
                if (announcement.PeerId == self) continue; // our own, looped back
                if (!string.Equals(announcement.NetworkName, Options.NetworkName, StringComparison.Ordinal)) { Drop(from, $"network '{announcement.NetworkName}'"); continue; }
                var dialable = announcement.Addresses.Where(a => a.TcpTarget is not null).ToList();
                if (dialable.Count == 0) { Drop(from, "no dialable address"); continue; }
                try
                {
                    owner.PeerDiscovered?.Invoke(owner, new DiscoveredPeer(announcement.PeerId, dialable, DiscoverySources.Broadcast, from));
                }
                catch (Exception ex)
                {
                    LanBroadcastLog.Ignored(owner._logger, from, "a PeerDiscovered handler threw: " + ex.Message);
                }
            }
        }

        private void Drop(IPEndPoint from, string reason)
        {
            Interlocked.Increment(ref _dropped);
            LanBroadcastLog.Ignored(owner._logger, from, reason);
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

        public void Close()
        {
            _receiver?.Dispose();
            foreach (var (_, socket) in _senders) socket.Dispose();
        }
    }
}
