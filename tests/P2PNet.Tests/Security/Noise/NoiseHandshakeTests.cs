using System.Diagnostics;
using P2PNet.Core;
using P2PNet.Security.Noise;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Security.Noise;

public class NoiseHandshakeTests
{
    private static readonly TimeSpan Timeout = NoisePair.Timeout;

    [Fact]
    public async Task Handshake_over_tcp_authenticates_both_sides_and_carries_data_both_ways()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (clientInner, serverInner) = await LoopbackTcp.ConnectAsync();
        var (client, server) = await NoisePair.HandshakeAsync(clientInner, serverInner, alice, bob);
        await using (client)
        await using (server)
        {
            Assert.Equal(bob.PeerId, client.RemotePeerId);
            Assert.Equal(alice.PeerId, server.RemotePeerId);
            Assert.Equal(alice.PublicKey, server.RemotePublicKey);
            Assert.Same(clientInner, client.Inner);
            await ExchangeAsync(client, server);
        }
    }

    [Fact]
    public async Task Handshake_over_in_memory_duplex_carries_data_both_ways()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (a, b) = DuplexPipeStream.CreatePair();
        var (client, server) = await NoisePair.HandshakeAsync(a, b, alice, bob, expected: null);
        await using (client)
        await using (server)
        {
            Assert.Equal(bob.PeerId, client.RemotePeerId);
            Assert.Equal(alice.PeerId, server.RemotePeerId);
            await ExchangeAsync(client, server);
        }
    }

    [Fact]
    public async Task Dialing_the_wrong_peer_is_PeerIdMismatch()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        using var carol = Identity.Generate();
        var (a, b) = DuplexPipeStream.CreatePair();
        var serverTask = NoiseHandshake.SecureInboundAsync(b, bob);
        var ex = await Assert.ThrowsAsync<NoiseException>(() => NoiseHandshake.SecureOutboundAsync(a, alice, carol.PeerId).WaitAsync(Timeout));
        Assert.Equal(NoiseError.PeerIdMismatch, ex.Error);
        // The dialer gives up before message 3; closing its side ends the responder's wait.
        await a.DisposeAsync();
        var serverEx = await Assert.ThrowsAsync<NoiseException>(() => serverTask.WaitAsync(Timeout));
        Assert.Equal(NoiseError.Truncated, serverEx.Error);
    }

    [Fact]
    public async Task Responder_with_a_bad_signature_is_rejected_by_the_initiator()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (a, b) = DuplexPipeStream.CreatePair();
        var serverTask = NoiseHandshake.SecureAsync(b, bob, initiator: false, null, CorruptSignature);
        var ex = await Assert.ThrowsAsync<NoiseException>(() => NoiseHandshake.SecureOutboundAsync(a, alice, bob.PeerId).WaitAsync(Timeout));
        Assert.Equal(NoiseError.BadSignature, ex.Error);
        await a.DisposeAsync();
        await Assert.ThrowsAsync<NoiseException>(() => serverTask.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Initiator_with_a_bad_signature_is_rejected_by_the_responder()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (a, b) = DuplexPipeStream.CreatePair();
        var serverTask = NoiseHandshake.SecureInboundAsync(b, bob);
        var clientTask = NoiseHandshake.SecureAsync(a, alice, initiator: true, bob.PeerId, CorruptSignature);
        var ex = await Assert.ThrowsAsync<NoiseException>(() => serverTask.WaitAsync(Timeout));
        Assert.Equal(NoiseError.BadSignature, ex.Error);
        await (await clientTask.WaitAsync(Timeout)).DisposeAsync();
    }

    [Fact]
    public async Task Signature_by_another_identity_is_rejected()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        using var mallory = Identity.Generate();
        var (a, b) = DuplexPipeStream.CreatePair();
        // Bob claims Mallory's key but signs with his own.
        var serverTask = NoiseHandshake.SecureAsync(b, bob, initiator: false, null,
            p => new NoiseHandshakePayload(mallory.PublicKey.ToProtobuf(), p.IdentitySignature));
        var ex = await Assert.ThrowsAsync<NoiseException>(() => NoiseHandshake.SecureOutboundAsync(a, alice, null).WaitAsync(Timeout));
        Assert.Equal(NoiseError.BadSignature, ex.Error);
        await a.DisposeAsync();
        await Assert.ThrowsAsync<NoiseException>(() => serverTask.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Non_ed25519_identity_key_is_UnsupportedKey()
    {
        using var alice = Identity.Generate();
        using var bob = Identity.Generate();
        var (a, b) = DuplexPipeStream.CreatePair();
        var serverTask = NoiseHandshake.SecureAsync(b, bob, initiator: false, null,
            p => new NoiseHandshakePayload(new PublicKey(KeyType.Secp256k1, new byte[33]).ToProtobuf(), p.IdentitySignature));
        var ex = await Assert.ThrowsAsync<NoiseException>(() => NoiseHandshake.SecureOutboundAsync(a, alice, null).WaitAsync(Timeout));
        Assert.Equal(NoiseError.UnsupportedKey, ex.Error);
        await a.DisposeAsync();
        await Assert.ThrowsAsync<NoiseException>(() => serverTask.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Connection_closed_mid_handshake_is_Truncated()
    {
        using var bob = Identity.Generate();
        var (clientInner, serverInner) = await LoopbackTcp.ConnectAsync();
        await using (serverInner)
        {
            var serverTask = NoiseHandshake.SecureInboundAsync(serverInner, bob);
            // Half of message 1's length-prefixed ephemeral key, then hang up.
            await clientInner.WriteAsync(new byte[] { 0x00, 0x20, 1, 2, 3, 4 });
            await clientInner.DisposeAsync();
            var ex = await Assert.ThrowsAsync<NoiseException>(() => serverTask.WaitAsync(Timeout));
            Assert.Equal(NoiseError.Truncated, ex.Error);
        }
    }

    [Fact]
    public async Task Responder_hanging_up_after_message_1_is_Truncated()
    {
        using var alice = Identity.Generate();
        var (clientInner, serverInner) = await LoopbackTcp.ConnectAsync();
        await using (clientInner)
        {
            var clientTask = NoiseHandshake.SecureOutboundAsync(clientInner, alice, null);
            byte[] message1 = new byte[34];
            await serverInner.ReadExactlyAsync(message1).AsTask().WaitAsync(Timeout);
            Assert.Equal(new byte[] { 0x00, 0x20 }, message1[..2]);
            await serverInner.DisposeAsync();
            var ex = await Assert.ThrowsAsync<NoiseException>(() => clientTask.WaitAsync(Timeout));
            Assert.Equal(NoiseError.Truncated, ex.Error);
        }
    }

    [Fact]
    public async Task Stalled_handshake_is_aborted_by_cancellation()
    {
        using var alice = Identity.Generate();
        var (clientInner, serverInner) = await LoopbackTcp.ConnectAsync();
        await using (clientInner)
        await using (serverInner)
        {
            // The server never answers.
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            var stopwatch = Stopwatch.StartNew();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(
                () => NoiseHandshake.SecureOutboundAsync(clientInner, alice, null, cts.Token).WaitAsync(Timeout));
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}");
        }
    }

    private static NoiseHandshakePayload CorruptSignature(NoiseHandshakePayload payload)
    {
        byte[] signature = (byte[])payload.IdentitySignature.Clone();
        signature[0] ^= 0x01;
        return new NoiseHandshakePayload(payload.IdentityKey, signature);
    }

    private static async Task ExchangeAsync(NoiseStream client, NoiseStream server)
    {
        await client.WriteAsync("ping from client"u8.ToArray()).AsTask().WaitAsync(Timeout);
        await client.FlushAsync();
        byte[] buffer = new byte[64];
        int n = await server.ReadAsync(buffer).AsTask().WaitAsync(Timeout);
        Assert.Equal("ping from client", System.Text.Encoding.UTF8.GetString(buffer, 0, n));

        await server.WriteAsync("pong from server"u8.ToArray()).AsTask().WaitAsync(Timeout);
        n = await client.ReadAsync(buffer).AsTask().WaitAsync(Timeout);
        Assert.Equal("pong from server", System.Text.Encoding.UTF8.GetString(buffer, 0, n));
    }
}
