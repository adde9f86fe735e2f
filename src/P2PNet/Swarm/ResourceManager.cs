using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>
/// Counts what a host holds per scope (system, IP, peer, protocol) and says no past a limit. One lock: every
/// operation is a few dictionary updates, and the accept loop must never wait on anything slower.
/// </summary>
internal sealed class ResourceManager
{
    private readonly SwarmOptions _options;
    private readonly ResourceLimits _limits;
    private readonly SwarmMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, IpUsage> _ips = [];
    private readonly Dictionary<PeerId, int> _peerConnections = [];
    private readonly Dictionary<PeerId, int> _peerStreams = [];
    private readonly Dictionary<string, int> _protocolStreams = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Start, int Logged, int Suppressed)> _logged = new(StringComparer.Ordinal);
    private readonly Dictionary<PeerId, PeerBuffers> _peerBuffers = [];
    private int _pendingHandshakes;
    private int _inboundStreams;
    private long _bufferedBytes;

    public ResourceManager(SwarmOptions options, SwarmMetrics metrics, ILogger logger)
    {
        _options = options;
        _limits = options.Limits;
        _limits.Validate();
        _metrics = metrics;
        _logger = logger;
    }

    private sealed class IpUsage
    {
        public int Pending;
        public int Inbound;
    }

    /// <summary>
    /// Reserves a handshake slot (system and per IP) and an inbound-connection slot for a socket just accepted;
    /// null with the limit's name when it must be closed.
    /// </summary>
    public InboundSlot? TryAdmit(IPAddress? ip, out string? limit)
    {
        ip = ip is null ? null : IpKey(ip);
        lock (_lock)
        {
            if (_pendingHandshakes >= _options.MaxPendingInboundHandshakes)
            {
                limit = Hit("system", "handshakes", _options.MaxPendingInboundHandshakes);
                return null;
            }
            IpUsage? usage = null;
            if (ip is not null)
            {
                bool loopback = IPAddress.IsLoopback(ip);
                int maxPending = loopback ? _limits.MaxPendingHandshakesPerLoopbackIp : _limits.MaxPendingHandshakesPerIp;
                int maxInbound = loopback ? _limits.MaxInboundConnectionsPerLoopbackIp : _limits.MaxInboundConnectionsPerIp;
                if (!_ips.TryGetValue(ip, out usage)) usage = new IpUsage();
                if (usage.Pending >= maxPending)
                {
                    limit = Hit("ip", "handshakes", maxPending, ip);
                    return null;
                }
                if (usage.Inbound >= maxInbound)
                {
                    limit = Hit("ip", "connections", maxInbound, ip);
                    return null;
                }
                usage.Pending++;
                usage.Inbound++;
                _ips[ip] = usage;
            }
            _pendingHandshakes++;
            limit = null;
        }
        return new InboundSlot(this, ip);
    }

    /// <summary>
    /// The key an address is counted under: IPv6 by its /64 prefix (one subscriber usually owns a whole /64 and
    /// could otherwise take every handshake slot with fresh addresses), IPv4 and loopback by the address itself.
    /// </summary>
    internal static IPAddress IpKey(IPAddress ip)
    {
        if (ip.AddressFamily != AddressFamily.InterNetworkV6 || ip.IsIPv4MappedToIPv6 || IPAddress.IsLoopback(ip))
            return ip;
        Span<byte> bytes = stackalloc byte[16];
        ip.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }

    private void EndHandshake(IPAddress? ip, bool keepConnection)
    {
        lock (_lock)
        {
            _pendingHandshakes--;
            if (ip is not null && _ips.TryGetValue(ip, out var usage))
            {
                usage.Pending--;
                if (!keepConnection) usage.Inbound--;
                if (usage.Inbound <= 0) _ips.Remove(ip);
            }
        }
    }

    private void EndInbound(IPAddress? ip)
    {
        if (ip is null) return;
        lock (_lock)
        {
            if (_ips.TryGetValue(ip, out var usage) && --usage.Inbound <= 0) _ips.Remove(ip);
        }
    }

    /// <summary>
    /// Counts a connection with <paramref name="peer"/>; false past <see cref="ResourceLimits.MaxConnectionsPerPeer"/>.
    /// With <paramref name="oneOver"/> one more is allowed: the connection both sides keep in a simultaneous dial,
    /// whose redundant twin is about to close.
    /// </summary>
    public bool TryAddPeerConnection(PeerId peer, bool oneOver = false)
    {
        lock (_lock)
        {
            int count = _peerConnections.GetValueOrDefault(peer);
            if (count >= _limits.MaxConnectionsPerPeer + (oneOver ? 1 : 0))
            {
                Hit("peer", "connections", _limits.MaxConnectionsPerPeer, peer);
                return false;
            }
            _peerConnections[peer] = count + 1;
            return true;
        }
    }

    public void RemovePeerConnection(PeerId peer)
    {
        lock (_lock) Decrement(_peerConnections, peer);
    }

    /// <summary>Counts an inbound stream of <paramref name="protocol"/> from <paramref name="peer"/>; false past a limit.</summary>
    public bool TryOpenInboundStream(PeerId peer, string protocol)
    {
        lock (_lock)
        {
            if (_inboundStreams >= _limits.MaxInboundStreams)
            {
                Hit("system", "streams", _limits.MaxInboundStreams);
                return false;
            }
            int perPeer = _peerStreams.GetValueOrDefault(peer);
            if (perPeer >= _limits.MaxInboundStreamsPerPeer)
            {
                Hit("peer", "streams", _limits.MaxInboundStreamsPerPeer, peer);
                return false;
            }
            int perProtocol = _protocolStreams.GetValueOrDefault(protocol);
            if (perProtocol >= _limits.MaxInboundStreamsPerProtocol)
            {
                Hit("protocol", "streams", _limits.MaxInboundStreamsPerProtocol, protocol);
                return false;
            }
            _inboundStreams++;
            _peerStreams[peer] = perPeer + 1;
            _protocolStreams[protocol] = perProtocol + 1;
        }
        _metrics.InboundStreams(1);
        return true;
    }

    public void CloseInboundStream(PeerId peer, string protocol)
    {
        lock (_lock)
        {
            _inboundStreams--;
            Decrement(_peerStreams, peer);
            Decrement(_protocolStreams, protocol);
        }
        _metrics.InboundStreams(-1);
    }

    private static void Decrement<TKey>(Dictionary<TKey, int> counts, TKey key) where TKey : notnull
    {
        if (!counts.TryGetValue(key, out int count)) return;
        if (count <= 1) counts.Remove(key);
        else counts[key] = count - 1;
    }

    /// <summary>Bytes buffered for streams in the whole host (received, not yet read by the application).</summary>
    public long BufferedBytes => Volatile.Read(ref _bufferedBytes);

    /// <summary>Bytes buffered for <paramref name="peer"/> over all its connections.</summary>
    public long PeerBufferedBytes(PeerId peer)
    {
        lock (_lock) return _peerBuffers.TryGetValue(peer, out var buffers) ? Volatile.Read(ref buffers.Bytes) : 0;
    }

    /// <summary>Opens the buffered-bytes account of one connection with <paramref name="peer"/>; dispose it when the connection closes.</summary>
    public BufferScope OpenBufferScope(PeerId peer)
    {
        PeerBuffers buffers;
        lock (_lock)
        {
            if (!_peerBuffers.TryGetValue(peer, out buffers!)) _peerBuffers[peer] = buffers = new PeerBuffers(peer);
            buffers.Scopes++;
        }
        return new BufferScope(this, buffers);
    }

    private void CloseBufferScope(PeerBuffers buffers)
    {
        lock (_lock)
        {
            if (--buffers.Scopes <= 0) _peerBuffers.Remove(buffers.Peer);
        }
    }

    private void BufferLimitHit(string scope, long max, PeerId peer)
    {
        lock (_lock) Hit(scope, "buffered-bytes", max, peer);
    }

    internal sealed class PeerBuffers(PeerId peer)
    {
        public readonly PeerId Peer = peer;
        public long Bytes;
        public int Scopes; // guarded by the manager's lock
    }

    /// <summary>
    /// The buffered bytes of one connection, charged to its peer and the host too. Its own lock keeps the
    /// connection's count exact; the peer and host counts are updated atomically, so concurrent connections may
    /// pass those limits by at most a frame each.
    /// </summary>
    internal sealed class BufferScope : Muxers.Yamux.IYamuxBufferBudget, IDisposable
    {
        private readonly ResourceManager _owner;
        private readonly PeerBuffers _peer;
        private readonly Lock _sync = new();
        private long _charged;
        private long _peak;
        private bool _closed;

        internal BufferScope(ResourceManager owner, PeerBuffers peer)
        {
            _owner = owner;
            _peer = peer;
        }

        /// <summary>Bytes the connection's streams hold now.</summary>
        public long Bytes { get { lock (_sync) return _charged; } }

        /// <summary>The most the connection's streams held at once.</summary>
        public long PeakBytes { get { lock (_sync) return _peak; } }

        public bool TryReserve(int bytes, bool firstAttempt)
        {
            var limits = _owner._limits;
            string? scope = null;
            long max = 0;
            lock (_sync)
            {
                if (_closed) return true;
                // A connection holding nothing always takes one frame: every connection keeps making progress.
                if (_charged > 0)
                {
                    if (_charged + bytes > limits.MaxBufferedBytesPerConnection) (scope, max) = ("connection", limits.MaxBufferedBytesPerConnection);
                    else if (Volatile.Read(ref _peer.Bytes) + bytes > limits.MaxBufferedBytesPerPeer) (scope, max) = ("peer", limits.MaxBufferedBytesPerPeer);
                    else if (Volatile.Read(ref _owner._bufferedBytes) + bytes > limits.MaxBufferedBytes) (scope, max) = ("system", limits.MaxBufferedBytes);
                }
                if (scope is null)
                {
                    _charged += bytes;
                    if (_charged > _peak) _peak = _charged;
                    Interlocked.Add(ref _peer.Bytes, bytes);
                    Interlocked.Add(ref _owner._bufferedBytes, bytes);
                    return true;
                }
            }
            if (firstAttempt) _owner.BufferLimitHit(scope, max, _peer.Peer);
            return false;
        }

        public void Release(int bytes) => Release((long)bytes);

        private void Release(long bytes)
        {
            lock (_sync)
            {
                // Bytes received before the scope was attached were never charged: release at most what was.
                long take = Math.Min(bytes, _charged);
                if (take <= 0) return;
                _charged -= take;
                Interlocked.Add(ref _peer.Bytes, -take);
                Interlocked.Add(ref _owner._bufferedBytes, -take);
            }
        }

        /// <summary>Releases everything still charged (the connection closed); later calls are no-ops.</summary>
        public void Dispose()
        {
            lock (_sync)
            {
                if (_closed) return;
                _closed = true;
                Interlocked.Add(ref _peer.Bytes, -_charged);
                Interlocked.Add(ref _owner._bufferedBytes, -_charged);
                _charged = 0;
            }
            _owner.CloseBufferScope(_peer);
        }
    }

    /// <summary>Counts a hit of the system connection limit (checked by the host against its table).</summary>
    public void ConnectionLimitHit()
    {
        lock (_lock) Hit("system", "connections", _options.MaxConnections);
    }

    /// <summary>
    /// True when a line about <paramref name="key"/> may be logged now: at most <paramref name="burst"/> lines per
    /// key within <see cref="ResourceLimits.LogInterval"/>. <paramref name="suppressed"/> is the number of lines held
    /// back in the previous interval. Keys are a fixed set of categories, never remote input.
    /// </summary>
    public bool ShouldLog(string key, out int suppressed, int burst = 1)
    {
        lock (_lock) return ShouldLogLocked(key, out suppressed, burst);
    }

    private bool ShouldLogLocked(string key, out int suppressed, int burst = 1)
    {
        long now = Stopwatch.GetTimestamp();
        var window = _logged.GetValueOrDefault(key);
        if (window.Start == 0 || Stopwatch.GetElapsedTime(window.Start, now) >= _limits.LogInterval)
        {
            suppressed = window.Suppressed;
            _logged[key] = (now, 1, 0);
            return true;
        }
        if (window.Logged < burst)
        {
            suppressed = 0;
            _logged[key] = (window.Start, window.Logged + 1, window.Suppressed);
            return true;
        }
        _logged[key] = (window.Start, window.Logged, window.Suppressed + 1);
        suppressed = window.Suppressed + 1;
        return false;
    }

    // Called under the lock. Counts the hit and logs it unless the same limit was logged within LogInterval.
    private string Hit(string scope, string resource, long max, object? subject = null)
    {
        string name = $"{scope} {resource} limit ({max})";
        _metrics.LimitHit(scope, resource);
        if (ShouldLogLocked("limit/" + scope + "/" + resource, out int suppressed))
            SwarmLog.LimitReached(_logger, name, subject?.ToString() ?? "", suppressed);
        return name;
    }

    /// <summary>
    /// The accounting of one accepted connection: a handshake slot until <see cref="HandshakeEnded"/>, then an
    /// inbound-connection slot of its IP until <see cref="Release"/>. Both calls are idempotent.
    /// </summary>
    internal sealed class InboundSlot(ResourceManager owner, IPAddress? ip)
    {
        private int _state; // 0 handshaking, 1 connected, 2 released

        public void HandshakeEnded(bool connected)
        {
            if (Interlocked.CompareExchange(ref _state, connected ? 1 : 2, 0) == 0) owner.EndHandshake(ip, connected);
        }

        public void Release()
        {
            int previous = Interlocked.Exchange(ref _state, 2);
            if (previous == 0) owner.EndHandshake(ip, keepConnection: false);
            else if (previous == 1) owner.EndInbound(ip);
        }
    }
}
