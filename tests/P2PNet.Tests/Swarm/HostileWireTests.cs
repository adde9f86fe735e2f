using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Negotiation;
using P2PNet.Protocols.Ping;
using P2PNet.Security.Noise;
using P2PNet.Swarm;
using P2PNet.Tests.Support;
using P2PNet.Transports.Tcp;
using P2PNet.Upgrade;

namespace P2PNet.Tests.Swarm;

/// <summary>
/// Hostile peers speaking our own wire, byte by byte: each loses its connection, the log says why, and
/// the host keeps serving others.
/// </summary>
public sealed class HostileWireTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private sealed class Server : IAsyncDisposable
    {
        public CapturingLoggerProvider Log { get; } = new();
        public Identity Id { get; } = Identity.Generate();
        public SwarmHost Host { get; }
        public Multiaddr Addr { get; private set; } = null!;

        public Server(SwarmOptions? options = null)
        {
            Host = new SwarmHost(Id, options, Log.CreateFactory());
            _ = new PingService(Host);
        }

        public async Task<Server> StartAsync()
        {
            Addr = (await Host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(Id.PeerId);
            return this;
        }

        public async Task AssertStillServesAsync()
        {
            using var id = Identity.Generate();
            await using var client = new SwarmHost(id);
            var ping = new PingService(client);
            var connection = await client.DialAsync(Addr).WaitAsync(Timeout);
            Assert.True((await ping.PingAsync(connection).WaitAsync(Timeout)) > TimeSpan.Zero);
        }

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            Id.Dispose();
        }
    }

    /// <summary>Dials the server by hand up to an established yamux-negotiated Noise stream.</summary>
    private static async Task<NoiseStream> SecureRawAsync(Server server, Identity id)
    {
        var raw = await new TcpTransport().DialAsync(server.Addr.WithoutPeerId());
        await MultistreamSelect.SelectAsync(raw.Stream, [NoiseHandshake.ProtocolId]);
        var noise = await NoiseHandshake.SecureOutboundAsync(raw.Stream, id, server.Id.PeerId);
        await MultistreamSelect.SelectAsync(noise, [YamuxSession.ProtocolId]);
        return noise;
    }

    private static async Task ReadToEndAsync(Stream stream)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            while (await stream.ReadAsync(buffer, cts.Token) > 0) { }
        }
        catch (IOException)
        {
            // a reset is as good as a close here
        }
    }

    [Theory]
    [InlineData("01000000000000000000000000", "version")]               // yamux version 1
    [InlineData("00070000000000010000000000", "type")]                  // unknown frame type 7
    [InlineData("0000000000000007000000040102030405", "stream")]        // data for a stream never opened
    public async Task Yamux_violation_after_noise_closes_only_that_connection(string frameHex, string reasonWord)
    {
        await using var server = await new Server().StartAsync();
        using var id = Identity.Generate();
        await using (var noise = await SecureRawAsync(server, id))
        {
            await noise.WriteAsync(Convert.FromHexString(frameHex));
            await noise.FlushAsync();
            await ReadToEndAsync(noise);
        }
        await server.Log.WaitForAsync(m => m.Contains(reasonWord, StringComparison.OrdinalIgnoreCase), Timeout);
        await server.AssertStillServesAsync();
    }

    [Fact]
    public async Task Window_overrun_closes_only_that_connection()
    {
        await using var server = await new Server().StartAsync();
        using var id = Identity.Generate();
        await using (var noise = await SecureRawAsync(server, id))
        {
            // Open stream 1 (SYN) and announce 300 KiB of data: more than the 256 KiB window allows.
            await noise.WriteAsync(Convert.FromHexString("0001000100000001" + "00000000"));
            await noise.WriteAsync(Convert.FromHexString("0000000000000001" + "0004B000"));
            await noise.FlushAsync();
            await ReadToEndAsync(noise);
        }
        await server.Log.WaitForAsync(m => m.Contains("window", StringComparison.OrdinalIgnoreCase), Timeout);
        await server.AssertStillServesAsync();
    }

    [Fact]
    public async Task Corrupted_noise_frame_closes_only_that_connection()
    {
        await using var server = await new Server().StartAsync();
        using var id = Identity.Generate();
        var raw = await new TcpTransport().DialAsync(server.Addr.WithoutPeerId());
        await MultistreamSelect.SelectAsync(raw.Stream, [NoiseHandshake.ProtocolId]);
        await using (var noise = await NoiseHandshake.SecureOutboundAsync(raw.Stream, id, server.Id.PeerId))
        {
            // A maximum-size frame of garbage, written under the Noise layer.
            byte[] frame = new byte[2 + 65535];
            frame[0] = 0xFF;
            frame[1] = 0xFF;
            Random.Shared.NextBytes(frame.AsSpan(2));
            await noise.Inner.WriteAsync(frame);
            await ReadToEndAsync(noise.Inner);
        }
        await server.Log.WaitForAsync(m => m.Contains("failed", StringComparison.OrdinalIgnoreCase), Timeout);
        await server.AssertStillServesAsync();
    }

    [Fact]
    public async Task Bad_noise_signature_is_refused_and_logged()
    {
        await using var server = await new Server().StartAsync();
        using var id = Identity.Generate();
        var raw = await new TcpTransport().DialAsync(server.Addr.WithoutPeerId());
        await MultistreamSelect.SelectAsync(raw.Stream, [NoiseHandshake.ProtocolId]);
        // The initiator signs with the wrong bytes: the responder must refuse message 3.
        var attempt = NoiseHandshake.SecureAsync(raw.Stream, id, initiator: true, server.Id.PeerId,
            payload => new NoiseHandshakePayload(payload.IdentityKey, id.Sign("not the static key"u8)));
        try
        {
            await using var noise = await attempt.WaitAsync(Timeout);
            await ReadToEndAsync(noise);
        }
        catch (Exception ex) when (ex is IOException)
        {
        }
        finally
        {
            await raw.Stream.DisposeAsync();
        }
        await server.Log.WaitForAsync(m => m.Contains("signature", StringComparison.OrdinalIgnoreCase), Timeout);
        await server.AssertStillServesAsync();
    }

    [Fact]
    public async Task Stalled_handshake_is_logged_as_a_timeout()
    {
        var options = new SwarmOptions { Upgrade = new UpgradeOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(300) } };
        await using var server = await new Server(options).StartAsync();
        var raw = await new TcpTransport().DialAsync(server.Addr.WithoutPeerId());
        await using (raw.Stream)
        {
            await MultistreamSelect.SelectAsync(raw.Stream, [NoiseHandshake.ProtocolId]);
            await ReadToEndAsync(raw.Stream); // we never send Noise message 1; the server must hang up
        }
        await server.Log.WaitForAsync(m => m.Contains("timed out", StringComparison.OrdinalIgnoreCase), Timeout);
        await server.AssertStillServesAsync();
    }
}
