using System.Net;
using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Protocols.Ping;
using P2PNet.Swarm;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Swarm;

/// <summary>Dialing by PeerId: one dial per peer, typed errors, self-dial, streams, and simultaneous dials.</summary>
public sealed class DialTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private sealed class Node : IAsyncDisposable
    {
        private Node(Identity identity, SwarmHost host, Multiaddr address)
        {
            Identity = identity;
            Host = host;
            Address = address;
        }

        public Identity Identity { get; }
        public SwarmHost Host { get; }
        public Multiaddr Address { get; }
        public PeerId Id => Identity.PeerId;

        public static async Task<Node> StartAsync(SwarmOptions? options = null)
        {
            var identity = Identity.Generate();
            var host = new SwarmHost(identity, options);
            _ = new PingService(host);
            var address = await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
            return new Node(identity, host, address);
        }

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            Identity.Dispose();
        }
    }

    [Fact]
    public async Task Concurrent_dials_to_one_peer_share_one_connection()
    {
        await using var a = await Node.StartAsync();
        await using var b = await Node.StartAsync();
        a.Host.PeerStore.AddAddress(b.Id, b.Address, AddressSource.Manual);
        int opened = 0;
        a.Host.ConnectionOpened += (_, _) => Interlocked.Increment(ref opened);

        var connections = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => a.Host.DialAsync(b.Id)))).WaitAsync(Timeout);

        Assert.All(connections, c => Assert.Same(connections[0], c));
        Assert.Equal(1, Volatile.Read(ref opened));

        // Dials by address with /p2p/ join too (they used to make one connection each).
        await connections[0].CloseAsync();
        var byAddress = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            Task.Run(() => i % 2 == 0 ? a.Host.DialAsync(b.Address.WithPeerId(b.Id)) : a.Host.DialAsync(b.Id)))).WaitAsync(Timeout);
        Assert.All(byAddress, c => Assert.Same(byAddress[0], c));
        Assert.Equal(2, Volatile.Read(ref opened));
        Assert.Single(a.Host.Connections);
        Assert.True(a.Host.PeerStore.TryGet(b.Id, out var entry));
        Assert.Contains(entry.Addresses, x => x.Address.Equals(b.Address) && x.Source == AddressSource.Dial);
        Assert.Null(entry.LastDialError);
        Assert.True(a.Host.PeerStore.IsConnected(b.Id));
    }

    [Fact]
    public async Task Concurrent_callers_share_one_failed_dial_and_a_caller_can_cancel_only_its_own_wait()
    {
        // The dial is held until every caller has joined, then refused: nothing depends on how fast a refusal comes.
        var closed = ClosedPort();
        var held = new HeldRefusal(closed);
        await using var a = await Node.StartAsync(new SwarmOptions { Transports = [held, new P2PNet.Transports.Tcp.TcpTransport()] });
        using var b = Identity.Generate();
        a.Host.PeerStore.AddAddress(b.PeerId, closed, AddressSource.Manual);

        // A caller that gives up waiting does not end the dial it started: the others join it.
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a.Host.DialAsync(b.PeerId, cancelled.Token));
        var dials = Enumerable.Range(0, 8).Select(_ => Record.ExceptionAsync(() => a.Host.DialAsync(b.PeerId))).ToArray();
        await Poll.UntilAsync(() => Volatile.Read(ref held.Dials) == 1, Timeout, "the one dial to reach the transport");
        held.Release.SetResult();
        var results = await Task.WhenAll(dials).WaitAsync(Timeout);

        var errors = results.Select(e => Assert.IsType<DialException>(e)).ToArray();
        Assert.All(errors, e => Assert.Equal(DialError.AllAddressesFailed, e.Error));
        Assert.All(errors, e => Assert.Equal(DialError.Refused, Assert.Single(e.Attempts).Error));
        Assert.Single(errors.Distinct()); // one dial, shared by all nine callers
        Assert.Equal(1, Volatile.Read(ref held.Dials));
    }

    [Fact]
    public async Task A_failed_dial_reports_the_error_of_each_address_and_the_store_keeps_it()
    {
        await using var a = await Node.StartAsync();
        await using var b = await Node.StartAsync();
        await using var impostor = await Node.StartAsync();
        var closed = ClosedPort();
        a.Host.PeerStore.AddAddresses(b.Id, [closed, impostor.Address], AddressSource.Discovery);

        var ex = await Assert.ThrowsAsync<DialException>(() => a.Host.DialAsync(b.Id).WaitAsync(Timeout));

        Assert.Equal(DialError.AllAddressesFailed, ex.Error);
        Assert.Equal(b.Id, ex.PeerId);
        Assert.IsAssignableFrom<P2PNetException>(ex);
        Assert.Equal(2, ex.Attempts.Count);
        Assert.Equal(DialError.Refused, ex.Attempts.Single(x => x.Address.Equals(closed)).Error);
        Assert.Equal(DialError.PeerIdMismatch, ex.Attempts.Single(x => x.Address.Equals(impostor.Address)).Error);
        Assert.True(a.Host.PeerStore.TryGet(b.Id, out var entry));
        Assert.Same(ex, entry.LastDialError);
        Assert.Empty(a.Host.Connections);

        // An unknown peer has no address to try.
        using var stranger = Identity.Generate();
        var none = await Assert.ThrowsAsync<DialException>(() => a.Host.DialAsync(stranger.PeerId).WaitAsync(Timeout));
        Assert.Equal(DialError.NoAddresses, none.Error);
        Assert.Empty(none.Attempts);
        Assert.False(a.Host.PeerStore.Contains(stranger.PeerId)); // a failed dial does not make a peer known

        // The right address clears the error.
        a.Host.PeerStore.AddAddress(b.Id, b.Address, AddressSource.Manual);
        var connection = await a.Host.DialAsync(b.Id).WaitAsync(Timeout);
        Assert.Equal(b.Id, connection.RemotePeerId);
        Assert.True(a.Host.PeerStore.TryGet(b.Id, out entry));
        Assert.Null(entry.LastDialError);
    }

    [Fact]
    public async Task Dialing_ourselves_fails_locally_before_any_socket_is_opened()
    {
        var log = new CapturingLoggerProvider();
        using var factory = log.CreateFactory();
        using var id = Identity.Generate();
        await using var host = new SwarmHost(id, loggerFactory: factory);
        var listen = await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        await using var wildcardHost = new SwarmHost(id);
        var wildcard = await wildcardHost.ListenAsync(Multiaddr.Parse("/ip4/0.0.0.0/tcp/0"));
        host.PeerStore.AddAddress(id.PeerId, listen, AddressSource.Manual); // never stored

        // Each check runs before the first await: the tasks are already faulted when the calls return.
        var byId = host.DialAsync(id.PeerId);
        var byP2p = host.DialAsync(listen.WithPeerId(id.PeerId));
        var byAddress = host.DialAsync(listen);
        var byExpandedWildcard = wildcardHost.DialAsync(Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{wildcard.ToIPEndPoint()!.Port}"));
        foreach (var task in new[] { byId, byP2p, byAddress, byExpandedWildcard })
        {
            Assert.True(task.IsFaulted);
            Assert.Equal(DialError.Self, Assert.IsType<DialException>(task.Exception!.InnerException).Error);
        }
        Assert.False(host.PeerStore.Contains(id.PeerId));
        Assert.Empty(host.Connections);
        Assert.DoesNotContain(log.Entries, e => e.Message.Contains("Handshake", StringComparison.Ordinal) || e.Message.Contains("Connection opened", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NewStreamAsync_dials_and_negotiates_then_reuses_the_connection()
    {
        await using var a = await Node.StartAsync();
        await using var b = await Node.StartAsync();
        a.Host.PeerStore.AddAddress(b.Id, b.Address, AddressSource.Manual);

        for (int i = 0; i < 2; i++)
        {
            await using var stream = await a.Host.NewStreamAsync(b.Id, ["/nope/1.0.0", PingProtocol.Id]).WaitAsync(Timeout);
            Assert.Equal(PingProtocol.Id, stream.Protocol);
            byte[] payload = new byte[32];
            Random.Shared.NextBytes(payload);
            await stream.WriteAsync(payload);
            await stream.FlushAsync();
            byte[] echo = new byte[32];
            await stream.ReadExactlyAsync(echo).AsTask().WaitAsync(Timeout);
            Assert.Equal(payload, echo);
        }
        Assert.Single(a.Host.Connections);
        var refused = await Assert.ThrowsAnyAsync<P2PNetException>(() => a.Host.NewStreamAsync(b.Id, ["/nope/1.0.0"]).WaitAsync(Timeout));
        Assert.IsNotType<DialException>(refused);
    }

    [Fact]
    public async Task A_closing_connection_is_never_reused()
    {
        await using var a = await Node.StartAsync();
        await using var b = await Node.StartAsync();
        a.Host.PeerStore.AddAddress(b.Id, b.Address, AddressSource.Manual);
        var first = await a.Host.DialAsync(b.Id).WaitAsync(Timeout);

        var closing = first.CloseAsync().AsTask();
        Assert.False(first.IsOpen);
        Assert.Null(a.Host.FindConnection(b.Id));
        Assert.DoesNotContain(first, a.Host.Connections);
        var second = await a.Host.DialAsync(b.Id).WaitAsync(Timeout);
        Assert.NotSame(first, second);
        Assert.True(second.IsOpen);
        await closing.WaitAsync(Timeout);
    }

    [Fact]
    public async Task NewStreamAsync_right_after_the_remote_closed_the_connection_gets_a_fresh_one()
    {
        await using var a = await Node.StartAsync();
        await using var b = await Node.StartAsync();
        a.Host.PeerStore.AddAddress(b.Id, b.Address, AddressSource.Manual);
        for (int i = 0; i < 5; i++)
        {
            var connection = await a.Host.DialAsync(b.Id).WaitAsync(Timeout);
            var atB = await WaitForAsync(() => b.Host.FindConnection(a.Id));
            // The remote ends the session; we ask for a stream at once, racing its go-away and close.
            var closing = atB.CloseAsync().AsTask();
            await using var stream = await a.Host.NewStreamAsync(b.Id, [PingProtocol.Id]).WaitAsync(Timeout);
            Assert.Equal(PingProtocol.Id, stream.Protocol);
            await closing.WaitAsync(Timeout);
            await connection.Completion.WaitAsync(Timeout);
        }
    }

    private static async Task<Connection> WaitForAsync(Func<Connection?> find)
    {
        Connection? found = null;
        await Poll.UntilAsync(() => (found = find()) is not null, Timeout, "the connection");
        return found!;
    }

    [Fact]
    public async Task Simultaneous_dials_agree_on_one_connection_and_close_the_other()
    {
        var options = new SwarmOptions { RedundantConnectionGracePeriod = TimeSpan.FromMilliseconds(50) };
        await using var a = await Node.StartAsync(options);
        await using var b = await Node.StartAsync(options);

        // Without /p2p/ neither dial can reuse: two connections, one dialed by each side.
        var both = await Task.WhenAll(a.Host.DialAsync(b.Address), b.Host.DialAsync(a.Address)).WaitAsync(Timeout);
        Assert.Equal([b.Address], a.Host.PeerStore.GetAddresses(b.Id)); // a dialed address that worked is kept
        await Poll.UntilAsync(() => a.Host.Connections.Count == 2 && b.Host.Connections.Count == 2
            || a.Host.Connections.Count == 1 && b.Host.Connections.Count == 1, Timeout, "both connections registered");

        var lower = a.Id.Bytes.SequenceCompareTo(b.Id.Bytes) < 0 ? a : b;
        var atA = a.Host.FindConnection(b.Id)!;
        var atB = b.Host.FindConnection(a.Id)!;
        // The same TCP connection on both sides, dialed by the lower PeerId.
        Assert.Equal(atA.LocalAddress, atB.RemoteAddress);
        Assert.Equal(atA.RemoteAddress, atB.LocalAddress);
        Assert.Equal(lower == a ? ConnectionDirection.Outbound : ConnectionDirection.Inbound, atA.Direction);

        // The other one carries no stream, so it goes; the kept one keeps working.
        await Poll.UntilAsync(() => a.Host.Connections.Count == 1 && b.Host.Connections.Count == 1, Timeout, "the redundant connection closed");
        Assert.Same(atA, Assert.Single(a.Host.Connections));
        Assert.Same(atB, Assert.Single(b.Host.Connections));
        Assert.True(await new PingService(a.Host).PingAsync(atA).WaitAsync(Timeout) > TimeSpan.Zero);
        Assert.Contains(both, c => ReferenceEquals(c, atA) || ReferenceEquals(c, atB));
    }

    // A transport for one address whose dials wait for Release, then are refused.
    private sealed class HeldRefusal(Multiaddr target) : ITransport
    {
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Dials;

        public bool CanHandle(Multiaddr address) => address.WithoutPeerId().Equals(target);

        public async ValueTask<TransportConnection> DialAsync(Multiaddr address, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Dials);
            await Release.Task.WaitAsync(cancellationToken);
            throw new SocketException((int)SocketError.ConnectionRefused);
        }

        public ValueTask<ITransportListener> ListenAsync(Multiaddr address, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
    }

    private static Multiaddr ClosedPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return Multiaddr.FromEndPoint((IPEndPoint)probe.LocalEndPoint!); // bound, never listening: refused
    }
}
