using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Protocols.Ping;
using P2PNet.Swarm;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Swarm;

/// <summary>The connection gater at dial, accept and after the handshake, and refusals that tell the dialer why.</summary>
public sealed class ConnectionGaterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Blocked_ip_is_closed_at_accept_before_any_handshake_byte()
    {
        var log = new CapturingLoggerProvider();
        var gater = new TestGater { Accept = remote => remote.ToIPEndPoint()?.Address.Equals(IPAddress.Loopback) != true };
        using var serverId = Identity.Generate();
        await using var server = new SwarmHost(serverId, new SwarmOptions { Gater = gater }, log.CreateFactory());
        var addr = await server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));

        // A raw client that offers the multistream header: the server never answers, it closes.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(addr.ToIPEndPoint()!);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync("\x13/multistream/1.0.0\n"u8.ToArray());
        int read;
        try
        {
            read = await stream.ReadAsync(new byte[64]).AsTask().WaitAsync(Timeout);
        }
        catch (IOException)
        {
            read = 0; // a reset is a close too
        }
        Assert.Equal(0, read);
        Assert.True(gater.AcceptCalls >= 1);
        Assert.Equal(0, gater.SecuredCalls);
        await log.WaitForAsync(m => m.Contains("closed at accept by the connection gater", StringComparison.Ordinal), Timeout);
        Assert.DoesNotContain(log.Entries, e => e.Message.Contains("Handshake with", StringComparison.Ordinal));

        // A real host from that address fails to connect and nothing is registered.
        using var clientId = Identity.Generate();
        await using var client = new SwarmHost(clientId);
        await Assert.ThrowsAnyAsync<Exception>(() => client.DialAsync(addr.WithPeerId(serverId.PeerId)).WaitAsync(Timeout));
        Assert.Empty(server.Connections);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("tcp")]
    public async Task Secured_refusal_reason_reaches_the_dialers_exception(string transport)
    {
        await using var hosts = new MemoryHosts();
        var gater = new TestGater { Secured = (_, _) => new ConnectionRefusal(RefusalReason.Blocked, "your PeerId is on our block list") };
        using var serverId = Identity.Generate();
        await using var server = new SwarmHost(serverId, transport == "memory" ? hosts.Options(new SwarmOptions { Gater = gater }) : new SwarmOptions { Gater = gater });
        _ = new PingService(server);
        var addr = (await server.ListenAsync(Multiaddr.Parse(transport == "memory" ? "/memory/0" : "/ip4/127.0.0.1/tcp/0"))).WithPeerId(serverId.PeerId);
        bool serverOpened = false;
        server.ConnectionOpened += (_, _) => serverOpened = true;
        using var clientId = Identity.Generate();
        await using var client = new SwarmHost(clientId, transport == "memory" ? hosts.Options() : null);
        var ping = new PingService(client);

        var refused = await Assert.ThrowsAsync<ConnectionRefusedException>(async () =>
        {
            var connection = await client.DialAsync(addr).WaitAsync(Timeout);
            await ping.PingAsync(connection).WaitAsync(Timeout);
        });

        Assert.Equal(RefusalReason.Blocked, refused.Reason);
        Assert.True(refused.ByRemote);
        Assert.Equal(serverId.PeerId, refused.Peer);
        Assert.Equal("your PeerId is on our block list", refused.Refusal.Message);
        Assert.Equal(1, gater.SecuredCalls);
        await Poll.UntilAsync(() => client.Connections.Count == 0, Timeout, "the refused connection to close");
        Assert.False(serverOpened);
        Assert.Empty(server.Connections);
    }

    [Fact]
    public async Task Refused_connection_is_not_reused_and_a_later_dial_is_refused_again()
    {
        await using var hosts = new MemoryHosts();
        var gater = new TestGater { Secured = (_, _) => new ConnectionRefusal(RefusalReason.WrongNetwork, "we are network B") };
        var (server, addr) = await hosts.StartAsync(new SwarmOptions { Gater = gater });
        var (client, _) = await hosts.StartAsync();

        var first = await client.DialAsync(addr).WaitAsync(Timeout);
        await first.Completion.WaitAsync(Timeout);
        Assert.Equal(RefusalReason.WrongNetwork, first.Refusal?.Reason);
        Assert.False(first.IsOpen);
        var ex = await Assert.ThrowsAsync<ConnectionRefusedException>(() => first.OpenStreamAsync(PingProtocol.Id));
        Assert.Equal(RefusalReason.WrongNetwork, ex.Reason);

        var second = await client.DialAsync(addr).WaitAsync(Timeout);
        Assert.NotSame(first, second);
        await second.Completion.WaitAsync(Timeout);
        Assert.Equal(RefusalReason.WrongNetwork, second.Refusal?.Reason);
        Assert.Equal(2, gater.SecuredCalls);
    }

    [Fact]
    public async Task Refusal_decided_later_by_a_stream_handler_reaches_the_dialer()
    {
        await using var hosts = new MemoryHosts();
        var (server, addr) = await hosts.StartAsync();
        var (client, _) = await hosts.StartAsync();
        // The decision comes after the connection opened, from a handler of that connection (as a hello would).
        server.SetStreamHandler("/test/hello/1.0.0", (_, connection, ct) =>
            connection.RefuseAsync(new ConnectionRefusal(RefusalReason.WrongNetwork, "we are network B"), ct));

        var connection = await client.DialAsync(addr).WaitAsync(Timeout);
        await using (var hello = await connection.OpenStreamAsync("/test/hello/1.0.0").WaitAsync(Timeout))
        {
            await connection.Completion.WaitAsync(Timeout);
        }
        Assert.Equal(RefusalReason.WrongNetwork, connection.Refusal?.Reason);
        var ex = await Assert.ThrowsAsync<ConnectionRefusedException>(() => connection.OpenStreamAsync(PingProtocol.Id));
        Assert.Equal("we are network B", ex.Refusal.Message);
        await Poll.UntilAsync(() => server.Connections.Count == 0, Timeout, "the refusing side to close");
    }

    [Fact]
    public async Task Dial_blocked_by_the_gater_fails_locally_before_any_connection()
    {
        await using var hosts = new MemoryHosts();
        var serverGater = new TestGater();
        var (server, addr) = await hosts.StartAsync(new SwarmOptions { Gater = serverGater });
        var (client, _) = await hosts.StartAsync();
        client.Gater = new TestGater { Dial = (peer, _) => peer != addr.PeerId };

        var dial = await Assert.ThrowsAsync<DialException>(() => client.DialAsync(addr).WaitAsync(Timeout));
        Assert.Equal(DialError.Blocked, dial.Error);
        var ex = Assert.IsType<ConnectionRefusedException>(dial.InnerException);
        Assert.False(ex.ByRemote);
        Assert.Equal(RefusalReason.Blocked, ex.Reason);
        Assert.Equal(0, serverGater.AcceptCalls);
        Assert.Empty(client.Connections);
    }

    [Fact]
    public async Task Outbound_secured_refusal_closes_our_dial_with_a_local_refusal()
    {
        await using var hosts = new MemoryHosts();
        var (server, addr) = await hosts.StartAsync();
        var (client, _) = await hosts.StartAsync(new SwarmOptions
        {
            Gater = new TestGater { Secured = (direction, _) => direction == ConnectionDirection.Outbound ? new ConnectionRefusal(RefusalReason.Rejected, "not today") : null },
        });

        var dial = await Assert.ThrowsAsync<DialException>(() => client.DialAsync(addr).WaitAsync(Timeout));
        Assert.Equal(DialError.Blocked, dial.Error); // refused by our own gater
        var ex = Assert.IsType<ConnectionRefusedException>(dial.InnerException);
        Assert.False(ex.ByRemote);
        Assert.Equal(RefusalReason.Rejected, ex.Reason);
        Assert.Empty(client.Connections);
        await Poll.UntilAsync(() => server.Connections.Count == 0, Timeout, "the server side to close");
    }

    [Fact]
    public async Task Gater_set_later_composes_and_the_first_refusal_wins()
    {
        await using var hosts = new MemoryHosts();
        var (server, addr) = await hosts.StartAsync();
        var (client, _) = await hosts.StartAsync();
        var allow = new TestGater();
        var duplicate = new TestGater { Secured = (_, peer) => peer == client.LocalPeerId ? new ConnectionRefusal(RefusalReason.Duplicate, "already connected") : null };
        var rejected = new TestGater { Secured = (_, _) => new ConnectionRefusal(RefusalReason.Rejected, "never asked") };
        server.Gater = new CompositeConnectionGater(allow, duplicate, rejected);

        var connection = await client.DialAsync(addr).WaitAsync(Timeout);
        await connection.Completion.WaitAsync(Timeout);
        Assert.Equal(RefusalReason.Duplicate, connection.Refusal?.Reason);
        Assert.Equal(1, allow.SecuredCalls);
        Assert.Equal(0, rejected.SecuredCalls);

        server.Gater = null;
        var admitted = await client.DialAsync(addr).WaitAsync(Timeout);
        Assert.True(await new PingService(client).PingAsync(admitted).WaitAsync(Timeout) > TimeSpan.Zero);
    }

    [Fact]
    public async Task Per_peer_connection_limit_refuses_with_resource_limit()
    {
        await using var hosts = new MemoryHosts();
        var (server, addr) = await hosts.StartAsync(new SwarmOptions { Limits = new ResourceLimits { MaxConnectionsPerPeer = 1 } });
        var (client, _) = await hosts.StartAsync();

        var first = await client.DialAsync(addr).WaitAsync(Timeout);
        var second = await client.DialAsync(addr.WithoutPeerId()).WaitAsync(Timeout); // no /p2p/: a new connection
        await second.Completion.WaitAsync(Timeout);
        Assert.Equal(RefusalReason.ResourceLimit, second.Refusal?.Reason);
        Assert.True(first.IsOpen);
        Assert.True(await new PingService(client).PingAsync(first).WaitAsync(Timeout) > TimeSpan.Zero);

        // The slot is released with the connection.
        await first.CloseAsync();
        await Poll.UntilAsync(() => server.Connections.Count == 0, Timeout, "the server to drop the first connection");
        var third = await client.DialAsync(addr).WaitAsync(Timeout);
        Assert.True(await new PingService(client).PingAsync(third).WaitAsync(Timeout) > TimeSpan.Zero);
    }

    [Fact]
    public async Task Per_protocol_stream_limit_resets_the_extra_stream_and_counts_the_hit()
    {
        await using var hosts = new MemoryHosts();
        var (server, addr) = await hosts.StartAsync(new SwarmOptions { Limits = new ResourceLimits { MaxInboundStreamsPerProtocol = 1 } });
        var (client, _) = await hosts.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.SetStreamHandler("/test/hold/1.0.0", async (stream, _, ct) =>
        {
            entered.TrySetResult();
            await release.Task.WaitAsync(ct);
            await stream.WriteAsync(new byte[] { 1 }, ct);
        });
        long hits = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "P2PNet.Swarm" && instrument.Name == "p2pnet.swarm.limit.hits") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == "scope" && (string?)tag.Value == "protocol") Interlocked.Add(ref hits, value);
        });
        listener.Start();

        var connection = await client.DialAsync(addr).WaitAsync(Timeout);
        await using var held = await connection.OpenStreamAsync("/test/hold/1.0.0").WaitAsync(Timeout);
        await entered.Task.WaitAsync(Timeout);
        var buffer = new byte[1];
        // The extra stream is reset right after negotiation: the reset reaches the dialer during or after its select.
        var extraFailure = await Record.ExceptionAsync(async () =>
        {
            await using var extra = await connection.OpenStreamAsync("/test/hold/1.0.0").WaitAsync(Timeout);
            Assert.Equal(0, await extra.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
        });
        Assert.True(extraFailure is null or IOException, extraFailure?.ToString());
        Assert.True(Interlocked.Read(ref hits) >= 1);

        release.TrySetResult();
        Assert.Equal(1, await held.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
    }
}
