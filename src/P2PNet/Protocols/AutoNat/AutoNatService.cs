using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Protocols.AutoNat;

/// <summary>
/// AutoNAT v2 on a <see cref="SwarmHost"/> (libp2p/specs autonat/autonat-v2.md). As a server it answers
/// <c>/libp2p/autonat/2/dial-request</c>: it dials the requester back on one address, from a fresh port, and says
/// whether that worked. As a client it asks the connected peers that speak the protocol (as identify recorded in the
/// <see cref="SwarmHost.PeerStore"/>) about each of our addresses (listen addresses and every observed-address
/// candidate, confirmed or not, that is public or in <see cref="AutoNatOptions.PublicCidrs"/>), checks the nonce of
/// each dial back, and keeps <see cref="Reachability"/>: public when some address is reachable, private when every address tested is not.
/// An address's verdict changes only when at least three servers agree, or, with fewer than three servers
/// connected, when every connected server that has an opinion agrees. Creating the service registers its handlers.
/// </summary>
public sealed partial class AutoNatService : IAsyncDisposable
{
    private readonly SwarmHost _host;
    private readonly AddressScope _scope;
    private readonly ILogger _logger;
    private readonly AutoNatServer? _server;
    private readonly AutoNatMetrics _metrics;
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<Multiaddr>> _pendingNonces = new();
    private readonly ConcurrentDictionary<Task, byte> _serving = new();
    // One pending "something changed" is enough: a round looks at the state when it runs.
    private readonly Channel<byte> _wake = Channel.CreateBounded<byte>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping;
    private readonly Task _loop = Task.CompletedTask;
    private int _disposed;

    /// <summary>The meter of the AutoNAT service (requests served, checks made, reachability), for OpenTelemetry's <c>AddMeter</c>.</summary>
    public const string MeterName = AutoNatMetrics.MeterName;

    /// <summary>Registers the AutoNAT v2 handlers on <paramref name="host"/> and, unless disabled, starts the client.</summary>
    /// <param name="host">The host to serve and test.</param>
    /// <param name="options">Settings; defaults when null.</param>
    /// <param name="loggerFactory">Loggers; nothing is logged when null.</param>
    /// <param name="meterFactory">Creates the <c>P2PNet.AutoNat</c> meter; a plain meter when null.</param>
    public AutoNatService(SwarmHost host, AutoNatOptions? options = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        _host = host ?? throw new ArgumentNullException(nameof(host));
        Options = options ?? new AutoNatOptions();
        var loggers = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = loggers.CreateLogger<AutoNatService>();
        _scope = new AddressScope(Options.PublicCidrs);
        _stopping = CancellationTokenSource.CreateLinkedTokenSource(host.Stopping);
        _metrics = new AutoNatMetrics(meterFactory, () => _reachability);
        host.SetStreamHandler(AutoNatProtocol.DialBackId, (stream, connection, ct) => Tracked(Linked(ReceiveDialBackAsync, stream, connection, ct)));
        if (Options.EnableServer)
        {
            _server = new AutoNatServer(host, Options, _scope, loggers, _metrics);
            host.SetStreamHandler(AutoNatProtocol.DialRequestId, (stream, connection, ct) => Tracked(Linked(_server.ServeAsync, stream, connection, ct)));
        }
        if (Options.EnableClient)
        {
            host.PeerStore.PeerAdded += OnPeerChanged;
            host.PeerStore.PeerUpdated += OnPeerChanged;
            host.AddressesChanged += OnAddressesChanged;
            _loop = RunClientAsync(_stopping.Token);
            Wake();
        }
    }

    /// <summary>The settings.</summary>
    public AutoNatOptions Options { get; }

    /// <summary>The host's reachability as AutoNAT servers found it; <see cref="AutoNat.Reachability.Unknown"/> until they agree.</summary>
    public Reachability Reachability => _reachability;

    /// <summary>Our addresses the servers found reachable (empty unless <see cref="Reachability"/> is public).</summary>
    public IReadOnlyList<Multiaddr> PublicAddresses => _publicAddresses;

    /// <summary>The PeerId this node's dial backs come from (a throwaway identity, not the host's); null without the server.</summary>
    public PeerId? DialBackPeerId => _server?.DialBackPeerId;

    /// <summary>Raised (from the client's background loop) when <see cref="Reachability"/> changes.</summary>
    public event EventHandler<ReachabilityChangedEventArgs>? ReachabilityChanged;

    /// <summary>Asks the client to test our addresses again soon (servers are asked again only once their answer is stale).</summary>
    public void Wake() => _wake.Writer.TryWrite(0);

    private void OnPeerChanged(object? sender, PeerStoreEntry entry)
    {
        if (entry.Protocols.Contains(AutoNatProtocol.DialRequestId, StringComparer.Ordinal) && _host.FindConnection(entry.PeerId) is not null) Wake();
    }

    private void OnAddressesChanged(object? sender, EventArgs e) => Wake();

    // Handlers run on the host's connections; the service still waits for them when it is disposed first.
    private Task Tracked(Task task)
    {
        if (task.IsCompleted) return task;
        _serving.TryAdd(task, 0);
        _ = task.ContinueWith(static (t, s) => ((ConcurrentDictionary<Task, byte>)s!).TryRemove(t, out _),
            _serving, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    // A handler also ends when the service is disposed, not only when its connection closes.
    private async Task Linked(StreamHandler handler, MuxedStream stream, Connection connection, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        await handler(stream, connection, linked.Token).ConfigureAwait(false);
    }

    /// <summary>Removes the handlers, stops the client and waits for the requests in progress.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _host.RemoveStreamHandler(AutoNatProtocol.DialBackId);
        if (_server is not null) _host.RemoveStreamHandler(AutoNatProtocol.DialRequestId);
        _host.PeerStore.PeerAdded -= OnPeerChanged;
        _host.PeerStore.PeerUpdated -= OnPeerChanged;
        _host.AddressesChanged -= OnAddressesChanged;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_serving.Keys).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Their failures were the connections' to report.
        }
        _server?.Dispose();
        _metrics.Dispose();
        _stopping.Dispose();
    }
}
