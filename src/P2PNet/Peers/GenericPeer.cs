using System.Net;
using System.Net.Sockets;
using P2PNet.Core;

namespace P2PNet.Peers;

/// <summary>
/// The default <see cref="IPeer"/>: what the network knows of a peer. Connected peers carry their
/// connection's socket and channel stream; peers only heard of (peer exchange, discovery) carry addresses.
/// Thread-safe: the network updates it as it learns more.
/// </summary>
public sealed class GenericPeer : IPeer
{
    /// <summary>Most addresses kept for one peer.</summary>
    public const int MaxAddresses = 16;

    private readonly Lock _sync = new();
    private IReadOnlyList<Multiaddr> _addresses;
    private IPEndPoint? _endPoint;
    private Socket? _socket;
    private TcpClient? _client;
    private Stream? _stream;
    private string? _displayName;

    /// <summary>Creates a peer known by its identifier and addresses.</summary>
    public GenericPeer(PeerId identifier, IEnumerable<Multiaddr>? addresses = null)
    {
        Identifier = identifier ?? throw new ArgumentNullException(nameof(identifier));
        _addresses = Normalize(addresses ?? []);
        _endPoint = _addresses.Select(a => a.ToIPEndPoint()).FirstOrDefault(e => e is not null);
    }

    /// <inheritdoc />
    public PeerId Identifier { get; }

    /// <inheritdoc />
    public IPAddress IP { get { lock (_sync) return _endPoint?.Address ?? IPAddress.None; } }

    /// <inheritdoc />
    public int Port { get { lock (_sync) return _endPoint?.Port ?? 0; } }

    /// <inheritdoc />
    public TcpClient? Client
    {
        get
        {
            lock (_sync)
                return _socket is null ? null : _client ??= new TcpClient { Client = _socket };
        }
    }

    /// <inheritdoc />
    public Stream? Stream { get { lock (_sync) return _stream; } }

    /// <inheritdoc />
    public IReadOnlyList<Multiaddr> Addresses { get { lock (_sync) return _addresses; } }

    /// <inheritdoc />
    public string? DisplayName { get { lock (_sync) return _displayName; } }

    /// <summary>When the network last heard from or of this peer.</summary>
    public DateTimeOffset LastSeen { get; private set; } = DateTimeOffset.UtcNow;

    /// <summary>Where this peer was learned from ("inbound", "outbound", "exchange", …).</summary>
    public string Source { get; internal set; } = "unknown";

    internal void Attach(Socket? socket, Stream stream, IPEndPoint? remote)
    {
        lock (_sync)
        {
            _socket = socket;
            _client = null;
            _stream = stream;
            if (remote is not null) _endPoint = remote;
            LastSeen = DateTimeOffset.UtcNow;
        }
    }

    internal void Detach()
    {
        lock (_sync)
        {
            _socket = null;
            _client = null;
            _stream = null;
        }
    }

    /// <summary>Merges newly learned addresses (bounded, de-duplicated, newest first).</summary>
    internal void MergeAddresses(IEnumerable<Multiaddr> addresses, string? displayName = null)
    {
        lock (_sync)
        {
            _addresses = Normalize(addresses.Concat(_addresses));
            _endPoint ??= _addresses.Select(a => a.ToIPEndPoint()).FirstOrDefault(e => e is not null);
            if (displayName is not null) _displayName = displayName;
            LastSeen = DateTimeOffset.UtcNow;
        }
    }

    private static Multiaddr[] Normalize(IEnumerable<Multiaddr> addresses) =>
        [.. addresses.Select(a => a.WithoutPeerId()).Where(IsDialable).Distinct().Take(MaxAddresses)];

    // A TCP address, or a circuit through a relay at a TCP address (ADDR/p2p/RELAY/p2p-circuit): a channel reopened
    // after a relay limit redials it.
    private static bool IsDialable(Multiaddr address) =>
        address.TcpTarget is not null || (address.SplitCircuit() is ({ } relay, null) && relay.WithoutPeerId().TcpTarget is not null);

    /// <inheritdoc />
    public override string ToString() => $"{Identifier} ({IP}:{Port})";
}
