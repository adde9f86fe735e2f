using System.Net;
using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Negotiation;
using P2PNet.Protocols.Identify;
using P2PNet.Swarm;
using P2PNet.Tests.Support;
using P2PNet.Transports.Tcp;
using P2PNet.Upgrade;

namespace P2PNet.Tests.Swarm;

/// <summary>Observed addresses: counted per distinct observer, confirmed at the threshold, forgotten with the connection.</summary>
public sealed class ObservedAddressTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private static readonly Multiaddr Public = Multiaddr.Parse("/ip4/203.0.113.7/tcp/4001");

    [Fact]
    public void Book_confirms_at_the_threshold_of_distinct_inbound_observers()
    {
        var book = new ObservedAddressBook(4);
        object[] connections = [.. Enumerable.Range(0, 6).Select(_ => new object())];
        // Same observer IP on two connections counts once; an outbound observation never confirms.
        Assert.False(book.Record(connections[0], Public.WithPeerId(PeerIdOf()), IPAddress.Parse("127.0.0.1"), inbound: true));
        Assert.False(book.Record(connections[1], Public, IPAddress.Parse("127.0.0.1"), inbound: true));
        Assert.False(book.Record(connections[2], Public, IPAddress.Parse("127.0.0.2"), inbound: true));
        Assert.False(book.Record(connections[3], Public, IPAddress.Parse("127.0.0.3"), inbound: false));
        Assert.Equal(new ObservedAddress(Public, 3, 2, false), Assert.Single(book.Candidates()));
        Assert.False(book.Record(connections[4], Public, IPAddress.Parse("127.0.0.4"), inbound: true));
        Assert.Empty(book.Confirmed());
        Assert.True(book.Record(connections[5], Public, IPAddress.Parse("::ffff:127.0.0.5"), inbound: true));
        Assert.Equal([Public], book.Confirmed());

        // The observations live with their connections.
        Assert.True(book.Remove(connections[5]));
        Assert.Empty(book.Confirmed());
        Assert.Single(book.Candidates());

        // Not an IP + TCP address: ignored.
        Assert.False(book.Record(new object(), Multiaddr.Parse("/dns4/example.com/tcp/1"), IPAddress.Loopback, inbound: true));
    }

    [Fact]
    public void Ipv6_observers_in_one_slash_56_count_once()
    {
        var book = new ObservedAddressBook(2);
        book.Record(new object(), Public, IPAddress.Parse("2001:db8:0:1::1"), inbound: true);
        book.Record(new object(), Public, IPAddress.Parse("2001:db8:0:2::1"), inbound: true);
        Assert.Empty(book.Confirmed());
        book.Record(new object(), Public, IPAddress.Parse("2001:db8:1::1"), inbound: true);
        Assert.Equal([Public], book.Confirmed());
    }

    [Fact]
    public async Task Four_observers_on_distinct_loopback_addresses_confirm_an_address_and_the_host_announces_it()
    {
        using var id = Identity.Generate();
        await using var host = new SwarmHost(id);
        await using var identify = new IdentifyService(host);
        var listen = await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var changed = 0;
        host.AddressesChanged += (_, _) => Interlocked.Increment(ref changed);
        var observers = new List<FakeObserver>();
        try
        {
            for (int i = 1; i <= 4; i++)
            {
                Assert.DoesNotContain(Public, host.Addresses);
                var identified = Events.Next<PeerIdentifiedEventArgs>(h => identify.PeerIdentified += h, null, Timeout);
                observers.Add(await FakeObserver.ConnectAsync(IPAddress.Parse($"127.0.0.{i}"), listen, id.PeerId, Public));
                await identified;
                var candidate = Assert.Single(host.ObservedAddressCandidates);
                Assert.Equal(new ObservedAddress(Public, i, i, i == 4), candidate);
            }
            Assert.Contains(Public, host.Addresses);
            Assert.Contains(listen, host.Addresses);
            Assert.True(Volatile.Read(ref changed) >= 1);

            // One observer leaves: below the threshold again.
            var lost = Events.Next<EventArgs>(h => host.AddressesChanged += (s, e) => h(s, e), null, Timeout);
            await observers[0].DisposeAsync();
            observers.RemoveAt(0);
            await lost;
            Assert.DoesNotContain(Public, host.Addresses);
        }
        finally
        {
            foreach (var o in observers) await o.DisposeAsync();
        }
    }

    [Fact]
    public async Task With_threshold_one_a_single_observer_confirms()
    {
        using var id = Identity.Generate();
        await using var host = new SwarmHost(id, new SwarmOptions { ObservedAddressThreshold = 1 });
        await using var identify = new IdentifyService(host);
        var listen = await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var changed = Events.Next<EventArgs>(h => host.AddressesChanged += (s, e) => h(s, e), null, Timeout);
        await using var observer = await FakeObserver.ConnectAsync(IPAddress.Parse("127.0.0.9"), listen, id.PeerId, Public);
        await changed;
        Assert.Contains(Public, host.Addresses);
        Assert.True(Assert.Single(host.ObservedAddressCandidates).Confirmed);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SwarmOptions { ObservedAddressThreshold = 0 });
    }

    private static PeerId PeerIdOf()
    {
        using var id = Identity.Generate();
        return id.PeerId;
    }

    /// <summary>
    /// A minimal libp2p peer dialing from a chosen loopback source address (which SwarmHost cannot do) that answers
    /// identify with a given observed address.
    /// </summary>
    private sealed class FakeObserver : IAsyncDisposable
    {
        private readonly Identity _identity = Identity.Generate();
        private readonly Upgrader _upgrader;
        private UpgradedConnection? _connection;
        private Task _serve = Task.CompletedTask;
        private readonly CancellationTokenSource _stop = new();

        private FakeObserver() => _upgrader = new Upgrader(_identity);

        public static async Task<FakeObserver> ConnectAsync(IPAddress source, Multiaddr target, PeerId expected, Multiaddr observed)
        {
            var observer = new FakeObserver();
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(target.ToIPEndPoint()!).WaitAsync(Timeout);
            observer._connection = await observer._upgrader.UpgradeOutboundAsync(TcpTransport.Wrap(socket), expected).WaitAsync(Timeout);
            observer._serve = observer.ServeAsync(observed);
            return observer;
        }

        private async Task ServeAsync(Multiaddr observed)
        {
            var ct = _stop.Token;
            try
            {
                while (await _connection!.Muxer.AcceptStreamAsync(ct) is { } stream)
                {
                    await using (stream)
                    {
                        string protocol = await MultistreamSelect.ListenAsync(stream, p => p == IdentifyProtocol.Id, ct);
                        await IdentifyProtocol.WriteAsync(stream, new IdentifyInfo { PublicKey = _identity.PublicKey, ObservedAddr = observed, Protocols = [IdentifyProtocol.Id] }, ct);
                        await stream.CloseWriteAsync(ct);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            if (_connection is not null) await _connection.Muxer.DisposeAsync();
            await _serve;
            _stop.Dispose();
            _upgrader.Dispose();
            _identity.Dispose();
        }
    }
}
