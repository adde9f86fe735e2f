using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Negotiation;
using P2PNet.Peers;
using P2PNet.Security.Noise;
using P2PNet.Transports.Tcp;

namespace P2PNet.Fuzz.Harnesses;

/// <summary>
/// The live stack: a real node (a started <see cref="PeerNetwork"/> on loopback TCP) and a client that completes a
/// genuine multistream + Noise + yamux handshake, then sends the fuzz input, either as raw yamux frames (mode 0)
/// or as the bytes of one yamux stream it opened (mode 1, reaching multistream-select, ping, identify and the
/// channel protocol behind it). After the client hangs up, the node must drop the connection within the limit,
/// keep serving genuine peers, and let no task fault unobserved.
/// </summary>
internal static class LiveStackHarness
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private static readonly Lazy<Task<LiveNode>> Node = new(LiveNode.StartAsync);
    private static long _runs;

    public static async Task RunAsync(byte[] input)
    {
        if (input.Length == 0) return;
        var node = await Node.Value.ConfigureAwait(false);
        node.ThrowIfFaulted();
        using (var cts = new CancellationTokenSource(Limit))
        {
            try
            {
                await SendAsync(node, (input[0] & 1) == 1, input[1..], cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                // The node hanging up on garbage (or our own deadline while it waits for more) is fine.
            }
        }
        await node.WaitIdleAsync(Limit).ConfigureAwait(false);
        if (Interlocked.Increment(ref _runs) % 64 == 1) await node.AssertServesAsync(Limit).ConfigureAwait(false);
        node.ThrowIfFaulted();
    }

    private static async Task SendAsync(LiveNode node, bool asStream, byte[] payload, CancellationToken cancellationToken)
    {
        TransportConnection raw;
        try
        {
            raw = await new TcpTransport().DialAsync(node.Address, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            throw new FuzzFailureException("the node refused a TCP connection", ex);
        }
        await using var rawStream = raw.Stream;
        NoiseStream noise;
        try
        {
            await MultistreamSelect.SelectAsync(raw.Stream, [NoiseHandshake.ProtocolId], cancellationToken).ConfigureAwait(false);
            noise = await NoiseHandshake.SecureOutboundAsync(raw.Stream, node.ClientKey, node.PeerId, cancellationToken).ConfigureAwait(false);
            await MultistreamSelect.SelectAsync(noise, [YamuxSession.ProtocolId], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // Nothing fuzzed has been sent yet: a node that refuses a genuine peer is broken, not defending itself.
            throw new FuzzFailureException("the node refused a genuine handshake", ex);
        }
        await using (noise.ConfigureAwait(false))
        {
            if (!asStream)
            {
                await noise.WriteAsync(payload, cancellationToken).ConfigureAwait(false);
                await noise.FlushAsync(cancellationToken).ConfigureAwait(false);
                await DrainAsync(noise, cancellationToken).ConfigureAwait(false);
                return;
            }
            var session = new YamuxSession(noise, isClient: true);
            await using (session.ConfigureAwait(false))
            {
                var stream = await session.OpenStreamAsync(cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    await stream.WriteAsync(payload, cancellationToken).ConfigureAwait(false);
                    await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
                    // Whatever the node answers; a handler waiting for more is ended by our deadline.
                    using var quick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    quick.CancelAfter(TimeSpan.FromMilliseconds(100));
                    await DrainAsync(stream, quick.Token).ConfigureAwait(false);
                }
            }
        }
    }

    private static async Task DrainAsync(Stream stream, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[4096];
        using var quick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        quick.CancelAfter(TimeSpan.FromMilliseconds(100));
        while (await stream.ReadAsync(buffer, quick.Token).ConfigureAwait(false) > 0) { }
    }

    private sealed class LiveNode
    {
        private Exception? _fault;

        private LiveNode(PeerNetwork network, Multiaddr address, Identity client)
        {
            Network = network;
            Address = address;
            ClientKey = NoiseStaticKey.Create(client);
            // A node task that faults and is never awaited is a bug even when nothing crashes. Watched only under
            // afl (its shared-memory id is set): in the test process other tests' tasks would be blamed on the node.
            if (Environment.GetEnvironmentVariable("__AFL_SHM_ID") is not null)
                TaskScheduler.UnobservedTaskException += (_, e) => Interlocked.CompareExchange(ref _fault, e.Exception, null);
        }

        public PeerNetwork Network { get; }

        public Multiaddr Address { get; }

        public PeerId PeerId => Network.Identifier;

        public NoiseStaticKey ClientKey { get; }

        public static async Task<LiveNode> StartAsync()
        {
            var network = new PeerNetwork(new PeerNetworkOptions
            {
                ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
                NetworkName = "fuzz",
                InboundDecisionTimeout = TimeSpan.FromSeconds(2),
            });
            var addresses = await network.StartAsync().ConfigureAwait(false);
            return new LiveNode(network, addresses[0].WithoutPeerId(), Identity.Generate());
        }

        public void ThrowIfFaulted()
        {
            // Reported once: in afl's persistent mode the process goes on with the next input.
            if (Interlocked.Exchange(ref _fault, null) is { } fault) throw new FuzzFailureException("a node task faulted unobserved", fault);
        }

        public async Task WaitIdleAsync(TimeSpan limit)
        {
            var deadline = DateTime.UtcNow + limit;
            while (Network.Host.Connections.Count > 0)
            {
                if (DateTime.UtcNow > deadline) throw new FuzzFailureException($"the node kept {Network.Host.Connections.Count} connection(s) after the client hung up");
                await Task.Delay(2).ConfigureAwait(false);
            }
        }

        public async Task AssertServesAsync(TimeSpan limit)
        {
            using var id = Identity.Generate();
            var client = new PeerNetwork(new PeerNetworkOptions { Identity = id, ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")], NetworkName = "fuzz" });
            await using (client.ConfigureAwait(false))
            {
                try
                {
                    var connection = await client.Host.DialAsync(Address.WithPeerId(PeerId)).WaitAsync(limit).ConfigureAwait(false);
                    await client.Ping.PingAsync(connection).WaitAsync(limit).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or TimeoutException)
                {
                    throw new FuzzFailureException("the node no longer serves a genuine peer", ex);
                }
            }
            await WaitIdleAsync(limit).ConfigureAwait(false);
        }
    }
}
