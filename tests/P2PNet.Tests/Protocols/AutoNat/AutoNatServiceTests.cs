using System.Net;
using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Protocols.AutoNat;
using P2PNet.Protocols.Identify;
using P2PNet.Swarm;
using P2PNet.Tests.Support;
using P2PNet.Wire;

namespace P2PNet.Tests.Protocols.AutoNat;

/// <summary>
/// AutoNAT v2 between real hosts on loopback TCP, with 127.0.0.0/8 listed as public: verdicts, the nonce check, the
/// amplification guard, address filtering, rate limits and hostile input.
/// </summary>
public sealed class AutoNatServiceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private static readonly IPNetwork Loopback = IPNetwork.Parse("127.0.0.0/8");

    private static AutoNatOptions Options(bool server, bool client) => new()
    {
        PublicCidrs = [Loopback],
        EnableServer = server,
        EnableClient = client,
        AmplificationDialDelay = TimeSpan.Zero,
        ChangeDebounce = TimeSpan.FromMilliseconds(20),
        DialBackTimeout = TimeSpan.FromSeconds(3),
    };

    private sealed class Node : IAsyncDisposable
    {
        private readonly Identity _identity = Identity.Generate();

        public Node(AutoNatOptions? options, ILoggerFactoryHolder? logs = null)
        {
            Host = new SwarmHost(_identity, loggerFactory: logs?.Factory);
            Identify = new IdentifyService(Host);
            if (options is not null) AutoNat = new AutoNatService(Host, options, logs?.Factory);
        }

        public SwarmHost Host { get; }
        public IdentifyService Identify { get; }
        public AutoNatService? AutoNat { get; set; }
        public Multiaddr Listen { get; private set; } = null!;

        public async Task<Node> StartAsync()
        {
            Listen = await Host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
            return this;
        }

        // Dials `other` and waits until identify told us it serves dial requests.
        public async Task<Connection> ConnectAsync(Node other)
        {
            var identified = Events.Next<PeerIdentifiedEventArgs>(h => Identify.PeerIdentified += h, e => e.Connection.RemotePeerId == other.Host.LocalPeerId, Timeout);
            var connection = await Host.DialAsync(other.Listen.WithPeerId(other.Host.LocalPeerId));
            await identified;
            return connection;
        }

        public async ValueTask DisposeAsync()
        {
            if (AutoNat is not null) await AutoNat.DisposeAsync();
            await Identify.DisposeAsync();
            await Host.DisposeAsync();
            _identity.Dispose();
        }
    }

    private sealed class ILoggerFactoryHolder(CapturingLoggerProvider provider)
    {
        public Microsoft.Extensions.Logging.ILoggerFactory Factory { get; } = provider.CreateFactory();
    }

    private sealed class RefuseInbound : IConnectionGater
    {
        public bool InterceptDial(PeerId? peer, Multiaddr address) => true;
        public bool InterceptAccept(Multiaddr localAddress, Multiaddr remoteAddress) => false;
        public ConnectionRefusal? InterceptSecured(ConnectionDirection direction, PeerId peer, Multiaddr localAddress, Multiaddr remoteAddress) => null;
    }

    private static int UnusedPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static Task<ReachabilityChangedEventArgs> NextChange(AutoNatService service) =>
        Events.Next<ReachabilityChangedEventArgs>(h => service.ReachabilityChanged += h, null, Timeout);

    [Fact]
    public async Task A_reachable_node_is_reported_public()
    {
        await using var server = await new Node(Options(server: true, client: false)).StartAsync();
        await using var client = await new Node(Options(server: false, client: true)).StartAsync();
        var changed = NextChange(client.AutoNat!);
        await client.ConnectAsync(server);

        var e = await changed;
        Assert.Equal(Reachability.Unknown, e.Previous);
        Assert.Equal(Reachability.Public, e.Current);
        Assert.Contains(client.Listen, e.PublicAddresses);
        Assert.Equal(Reachability.Public, client.AutoNat!.Reachability);
    }

    [Fact]
    public async Task A_node_that_refuses_the_dial_back_is_reported_private()
    {
        await using var server = await new Node(Options(server: true, client: false)).StartAsync();
        await using var client = await new Node(Options(server: false, client: true)).StartAsync();
        client.Host.Gater = new RefuseInbound();
        var changed = NextChange(client.AutoNat!);
        await client.ConnectAsync(server);

        var e = await changed;
        Assert.Equal(Reachability.Private, e.Current);
        Assert.Empty(e.PublicAddresses);
    }

    [Fact]
    public async Task An_address_where_nothing_listens_is_private_and_a_listening_one_public()
    {
        await using var server = await new Node(Options(server: true, client: false)).StartAsync();
        await using var client = await new Node(Options(server: false, client: false)).StartAsync();
        var connection = await client.ConnectAsync(server);
        var nothing = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{UnusedPort()}");

        Assert.Equal(Reachability.Private, (await client.AutoNat!.CheckAddressAsync(connection, nothing)).Reachability);
        Assert.Equal(Reachability.Public, (await client.AutoNat.CheckAddressAsync(connection, client.Listen)).Reachability);
    }

    [Fact]
    public async Task Two_servers_must_agree_before_the_verdict_changes()
    {
        await using var honest = await new Node(Options(server: true, client: false)).StartAsync();
        // A server that always claims its dial failed, without dialing.
        await using var liar = await new Node(null).StartAsync();
        liar.Host.SetStreamHandler(AutoNatProtocol.DialRequestId, async (stream, _, ct) =>
        {
            await AutoNatProtocol.ReadExpectedAsync<DialRequest>(stream, ct);
            await AutoNatProtocol.WriteAsync(stream, new DialResponse(ResponseStatus.Ok, 0, DialStatus.DialError), ct);
            await stream.CloseWriteAsync(ct);
        });
        await using var client = await new Node(null).StartAsync();
        await client.ConnectAsync(honest);
        await client.ConnectAsync(liar);
        client.AutoNat = new AutoNatService(client.Host, Options(server: false, client: true));

        await Poll.UntilAsync(() => client.AutoNat.RoundsCompleted >= 1, Timeout, "a client round");
        Assert.Equal(Reachability.Unknown, client.AutoNat.Reachability);

        // The liar leaves: the one server left decides alone.
        var changed = NextChange(client.AutoNat);
        await client.Host.FindConnection(liar.Host.LocalPeerId)!.CloseAsync();
        client.AutoNat.Wake();
        // Answers stay valid for RecheckInterval: dropping the liar's lets the honest one decide on the next round.
        Assert.Equal(Reachability.Public, (await changed).Current);
    }

    [Theory]
    [InlineData(1UL)] // the wrong nonce
    [InlineData(0UL)] // the right nonce, but over the connection we dialed, not a dial back
    public async Task A_dial_back_with_the_wrong_nonce_or_on_our_own_connection_is_refused(ulong offset)
    {
        // A fake server that answers "dialed you" and, without dialing, sends a nonce over the request's connection.
        await using var fake = await new Node(null).StartAsync();
        var dialBackAnswered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        fake.Host.SetStreamHandler(AutoNatProtocol.DialRequestId, async (stream, connection, ct) =>
        {
            var request = await AutoNatProtocol.ReadExpectedAsync<DialRequest>(stream, ct);
            var back = await connection.OpenStreamAsync(AutoNatProtocol.DialBackId, ct);
            await using (back)
            {
                await AutoNatProtocol.WriteDialBackAsync(back, request.Nonce + offset, ct);
                await back.CloseWriteAsync(ct);
                try
                {
                    dialBackAnswered.TrySetResult(await back.ReadAsync(new byte[1], ct) > 0 || false);
                }
                catch (Exception)
                {
                    dialBackAnswered.TrySetResult(false);
                }
            }
            await AutoNatProtocol.WriteAsync(stream, new DialResponse(ResponseStatus.Ok, 0, DialStatus.Ok), ct);
            await stream.CloseWriteAsync(ct);
        });
        await using var client = await new Node(Options(server: false, client: false)).StartAsync();
        var connection = await client.Host.DialAsync(fake.Listen.WithPeerId(fake.Host.LocalPeerId));

        var ex = await Assert.ThrowsAsync<AutoNatException>(() => client.AutoNat!.CheckAddressAsync(connection, client.Listen).WaitAsync(Timeout));
        Assert.Equal(AutoNatError.DialBackMissing, ex.Error);
        // The client reset the dial-back stream instead of answering OK.
        Assert.False(await dialBackAnswered.Task.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Private_addresses_are_not_dialed_unless_listed_as_public()
    {
        await using var strict = await new Node(new AutoNatOptions { EnableClient = false }).StartAsync();
        await using var lab = await new Node(Options(server: true, client: false)).StartAsync();
        await using var client = await new Node(Options(server: false, client: false)).StartAsync();
        var toStrict = await client.ConnectAsync(strict);
        var toLab = await client.ConnectAsync(lab);

        var ex = await Assert.ThrowsAsync<AutoNatException>(() => client.AutoNat!.CheckAddressAsync(toStrict, client.Listen));
        Assert.Equal(AutoNatError.Declined, ex.Error);
        Assert.Contains("refused", ex.Message, StringComparison.Ordinal);
        ex = await Assert.ThrowsAsync<AutoNatException>(() => client.AutoNat!.CheckAddressAsync(toLab, Multiaddr.Parse("/ip4/10.1.2.3/tcp/4001")));
        Assert.Equal(AutoNatError.Declined, ex.Error);
        ex = await Assert.ThrowsAsync<AutoNatException>(() => client.AutoNat!.CheckAddressAsync(toLab, Multiaddr.Parse("/dns4/localhost/tcp/4001")));
        Assert.Equal(AutoNatError.Declined, ex.Error);
    }

    [Fact]
    public async Task Another_ip_is_dialed_only_after_the_dial_data_arrived()
    {
        await using var server = await new Node(Options(server: true, client: false)).StartAsync();
        await using var client = await new Node(Options(server: false, client: false)).StartAsync();
        var connection = await client.ConnectAsync(server);
        // The "victim" is another loopback IP; it counts the connections the server makes to it.
        var victim = new TcpListener(IPAddress.Parse("127.0.0.2"), 0);
        victim.Start();
        try
        {
            var target = Multiaddr.FromEndPoint((IPEndPoint)victim.LocalEndpoint);

            // Asked for data, the requester sends a third of it and stops: no dial, no answer.
            var stream = await connection.OpenStreamAsync(AutoNatProtocol.DialRequestId);
            await using (stream)
            {
                await AutoNatProtocol.WriteAsync(stream, new DialRequest([target.ToBytes()], 99), CancellationToken.None);
                var ask = await AutoNatProtocol.ReadExpectedAsync<DialDataRequest>(stream, CancellationToken.None).WaitAsync(Timeout);
                Assert.Equal(0U, ask.AddrIdx);
                Assert.InRange(ask.NumBytes, 30_000UL, 100_000UL);
                await AutoNatProtocol.WriteDialDataAsync(stream, (int)ask.NumBytes / 3, CancellationToken.None);
                await stream.CloseWriteAsync();
                await Assert.ThrowsAnyAsync<Exception>(async () =>
                {
                    if (await AutoNatProtocol.ReadAsync(stream, CancellationToken.None).WaitAsync(Timeout) is null) throw new EndOfStreamException();
                });
            }
            Assert.False(victim.Pending());

            // Paying in full gets the dial (which fails: the victim speaks no libp2p) and an answer.
            var result = await client.AutoNat!.CheckAddressAsync(connection, target);
            Assert.Equal(Reachability.Private, result.Reachability);
            using var accepted = await victim.AcceptSocketAsync().WaitAsync(Timeout);
        }
        finally
        {
            victim.Stop();
        }
    }

    [Fact]
    public async Task A_client_that_will_not_pay_gets_no_dial()
    {
        await using var server = await new Node(Options(server: true, client: false)).StartAsync();
        await using var client = await new Node(Options(server: false, client: false) with { SendDialData = false }).StartAsync();
        var connection = await client.ConnectAsync(server);
        var ex = await Assert.ThrowsAsync<AutoNatException>(() => client.AutoNat!.CheckAddressAsync(connection, Multiaddr.Parse($"/ip4/127.0.0.3/tcp/{UnusedPort()}")));
        Assert.Equal(AutoNatError.DialDataRefused, ex.Error);
    }

    [Fact]
    public async Task Requests_over_the_per_peer_rate_are_rejected()
    {
        var outcomes = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == AutoNatService.MeterName && instrument.Name == "p2pnet.autonat.requests") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags) if (tag.Key == "p2pnet.autonat.outcome") outcomes.Enqueue((string)tag.Value!);
        });
        listener.Start();
        await using var server = await new Node(Options(server: true, client: false) with { ServerRequestsPerPeerPerMinute = 2 }).StartAsync();
        await using var client = await new Node(Options(server: false, client: false)).StartAsync();
        var connection = await client.ConnectAsync(server);
        for (int i = 0; i < 2; i++) Assert.Equal(Reachability.Public, (await client.AutoNat!.CheckAddressAsync(connection, client.Listen)).Reachability);
        var ex = await Assert.ThrowsAsync<AutoNatException>(() => client.AutoNat!.CheckAddressAsync(connection, client.Listen));
        Assert.Equal(AutoNatError.Declined, ex.Error);
        Assert.Contains("rejected", ex.Message, StringComparison.Ordinal);
        // The meter counts what the server did.
        Assert.True(outcomes.Count(o => o == "ok") >= 2, string.Join(",", outcomes));
        Assert.Contains("rejected", outcomes);
    }

    [Fact]
    public async Task Malformed_and_oversized_messages_get_a_clear_error_and_a_closed_stream_and_the_node_keeps_serving()
    {
        using var logs = new CapturingLoggerProvider();
        var holder = new ILoggerFactoryHolder(logs);
        await using var server = await new Node(Options(server: true, client: false), holder).StartAsync();
        await using var client = await new Node(Options(server: false, client: false)).StartAsync();
        var connection = await client.ConnectAsync(server);

        byte[][] hostile =
        [
            [0x81, 0x40, 0x00, 0x00], // a length of 8193
            [0x03, 0x0A, 0x05, 0x01], // a DialRequest cut short inside
            [0x02, 0x08, 0x01], // Message field 1 as a varint
            Frame(AutoNatCodec.Encode(new DialResponse(ResponseStatus.Ok, 0, DialStatus.Ok))), // the wrong kind
        ];
        foreach (byte[] input in hostile)
        {
            var stream = await connection.OpenStreamAsync(AutoNatProtocol.DialRequestId);
            await using (stream)
            {
                await stream.WriteAsync(input);
                await stream.FlushAsync();
                await Assert.ThrowsAnyAsync<Exception>(async () =>
                {
                    if (await AutoNatProtocol.ReadAsync(stream, CancellationToken.None).WaitAsync(Timeout) is null) throw new EndOfStreamException();
                });
            }
        }
        await logs.WaitForAsync(m => m.Contains("bad dial request", StringComparison.Ordinal) && m.Contains("MessageTooLong", StringComparison.Ordinal), Timeout);
        await logs.WaitForAsync(m => m.Contains("bad dial request", StringComparison.Ordinal) && m.Contains("UnexpectedMessage", StringComparison.Ordinal), Timeout);

        // A hostile dial-back on the client's side is refused the same way.
        var back = await server.Host.FindConnection(client.Host.LocalPeerId)!.OpenStreamAsync(AutoNatProtocol.DialBackId);
        await using (back)
        {
            await back.WriteAsync(new byte[] { 0x81, 0x08 });
            await back.FlushAsync();
            await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                if (await back.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout) == 0) throw new EndOfStreamException();
            });
        }

        Assert.True(connection.IsOpen);
        Assert.Equal(Reachability.Public, (await client.AutoNat!.CheckAddressAsync(connection, client.Listen)).Reachability);
    }

    private static byte[] Frame(byte[] body)
    {
        byte[] frame = new byte[Varint.SizeOf((ulong)body.Length) + body.Length];
        body.CopyTo(frame, Varint.Write(frame, (ulong)body.Length));
        return frame;
    }
}
