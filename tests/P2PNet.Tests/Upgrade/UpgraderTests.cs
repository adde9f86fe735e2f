using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Negotiation;
using P2PNet.Security.Noise;
using P2PNet.Transports.Memory;
using P2PNet.Upgrade;

namespace P2PNet.Tests.Upgrade;

/// <summary>The upgrader over any duplex stream (here the memory transport): security and muxer negotiated from lists.</summary>
public sealed class UpgraderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>yamux under another protocol id, to see which factory the negotiation picked.</summary>
    private sealed class RenamedMuxer(string id) : IStreamMuxerFactory
    {
        private readonly YamuxMuxerFactory _yamux = new();
        public int Created;
        public string ProtocolId => id;
        public IStreamMuxer Create(Stream secured, bool isInitiator)
        {
            Interlocked.Increment(ref Created);
            return _yamux.Create(secured, isInitiator);
        }
    }

    /// <summary>A security protocol nobody else speaks (never reached in these tests).</summary>
    private sealed class UnknownSecurity : ISecurityTransport
    {
        public string ProtocolId => "/unknown-security/1.0.0";
        public Task<SecuredConnection> SecureOutboundAsync(Stream inner, PeerId? expectedRemote, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<SecuredConnection> SecureInboundAsync(Stream inner, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }

    private static async Task<(TransportConnection Dialer, TransportConnection Accepted, ITransportListener Listener)> PairAsync()
    {
        var transport = new MemoryTransport(new MemoryTransportHub());
        var listener = await transport.ListenAsync(Multiaddr.Parse("/memory/0"));
        var accept = listener.AcceptAsync().AsTask();
        var dialer = await transport.DialAsync(listener.ListenAddress);
        return (dialer, (await accept.WaitAsync(Timeout))!, listener);
    }

    [Fact]
    public async Task Defaults_negotiate_noise_and_yamux_over_memory()
    {
        using var a = Identity.Generate();
        using var b = Identity.Generate();
        using var upA = new Upgrader(a);
        using var upB = new Upgrader(b);
        var (dialer, accepted, listener) = await PairAsync();
        await using var _ = listener;

        var inbound = upB.UpgradeInboundAsync(accepted);
        var outbound = await upA.UpgradeOutboundAsync(dialer, b.PeerId).WaitAsync(Timeout);
        var server = await inbound.WaitAsync(Timeout);
        await using var m1 = outbound.Muxer;
        await using var m2 = server.Muxer;

        Assert.Equal(b.PeerId, outbound.RemotePeerId);
        Assert.Equal(a.PeerId, server.RemotePeerId);
        Assert.Equal(NoiseHandshake.ProtocolId, outbound.SecurityProtocol);
        Assert.Equal(YamuxSession.ProtocolId, server.MuxerProtocol);
        Assert.Equal(MemoryTransport.Name, outbound.Transport);
        Assert.False(outbound.IsLimited);

        // A stream through Noise and yamux over the memory pipes.
        var accept = server.Muxer.AcceptStreamAsync().AsTask();
        await using var stream = await outbound.Muxer.OpenStreamAsync();
        await stream.WriteAsync("hello"u8.ToArray());
        await using var remote = (await accept.WaitAsync(Timeout))!;
        byte[] buffer = new byte[5];
        await remote.ReadExactlyAsync(buffer).AsTask().WaitAsync(Timeout);
        Assert.Equal("hello"u8.ToArray(), buffer);
    }

    [Fact]
    public async Task Dialer_order_wins_among_what_the_listener_supports()
    {
        using var a = Identity.Generate();
        using var b = Identity.Generate();
        using var noiseA = new NoiseSecurity(a);
        using var noiseB = new NoiseSecurity(b);
        var fastA = new RenamedMuxer("/fast-mux/1.0.0");
        var fastB = new RenamedMuxer("/fast-mux/1.0.0");
        var onlyDialer = new RenamedMuxer("/only-dialer/1.0.0");
        // The dialer prefers a muxer the listener lacks, then one both have; the listener lists yamux first.
        using var upA = new Upgrader(a, [new UnknownSecurity(), noiseA], [onlyDialer, fastA, new YamuxMuxerFactory()]);
        using var upB = new Upgrader(b, [noiseB], [new YamuxMuxerFactory(), fastB]);
        var (dialer, accepted, listener) = await PairAsync();
        await using var _ = listener;

        var inbound = upB.UpgradeInboundAsync(accepted);
        var outbound = await upA.UpgradeOutboundAsync(dialer, b.PeerId).WaitAsync(Timeout);
        var server = await inbound.WaitAsync(Timeout);
        await using var m1 = outbound.Muxer;
        await using var m2 = server.Muxer;

        Assert.Equal("/noise", outbound.SecurityProtocol);
        Assert.Equal("/fast-mux/1.0.0", outbound.MuxerProtocol);
        Assert.Equal("/fast-mux/1.0.0", server.MuxerProtocol);
        Assert.Equal(1, fastA.Created);
        Assert.Equal(1, fastB.Created);
        Assert.Equal(0, onlyDialer.Created);
        Assert.Equal(["/unknown-security/1.0.0", "/noise"], upA.SecurityProtocols);
    }

    [Fact]
    public async Task No_common_muxer_fails_the_upgrade_and_closes_the_connection()
    {
        using var a = Identity.Generate();
        using var b = Identity.Generate();
        using var upA = new Upgrader(a, null, [new RenamedMuxer("/mine/1.0.0")]);
        using var upB = new Upgrader(b);
        var (dialer, accepted, listener) = await PairAsync();
        await using var _ = listener;

        var inbound = upB.UpgradeInboundAsync(accepted);
        var ex = await Assert.ThrowsAsync<NegotiationException>(() => upA.UpgradeOutboundAsync(dialer, b.PeerId).WaitAsync(Timeout));
        Assert.Equal(NegotiationError.NoProtocol, ex.Error);
        await Assert.ThrowsAnyAsync<Exception>(() => inbound.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Silent_inbound_connection_is_cut_off_by_the_first_byte_timeout()
    {
        using var b = Identity.Generate();
        using var upB = new Upgrader(b, new UpgradeOptions { FirstByteTimeout = TimeSpan.FromMilliseconds(200) });
        var (dialer, accepted, listener) = await PairAsync();
        await using var _ = listener;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<UpgradeException>(() => upB.UpgradeInboundAsync(accepted).WaitAsync(Timeout));
        Assert.Contains("sent no handshake", ex.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        // The upgrader closed the connection: the dialer reads end-of-stream.
        Assert.Equal(0, await dialer.Stream.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout));
        await dialer.Stream.DisposeAsync();
    }

    [Fact]
    public async Task Garbage_first_fails_at_its_first_byte()
    {
        using var b = Identity.Generate();
        using var upB = new Upgrader(b, new UpgradeOptions { FirstByteTimeout = Timeout, HandshakeTimeout = Timeout });
        var (dialer, accepted, listener) = await PairAsync();
        await using var _ = listener;
        var inbound = upB.UpgradeInboundAsync(accepted);
        await dialer.Stream.WriteAsync("G"u8.ToArray()); // one byte of "GET / HTTP/1.1": no more is needed to know
        var ex = await Assert.ThrowsAsync<NegotiationException>(() => inbound.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(NegotiationError.Malformed, ex.Error);
        await dialer.Stream.DisposeAsync();
    }
}
