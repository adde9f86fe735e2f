using System.Buffers.Binary;
using P2PNet.Core;
using P2PNet.Security.Noise;

namespace P2PNet.Fuzz.Harnesses;

/// <summary>
/// Noise: the handshake messages (raw, or a genuine peer whose libp2p payload is the fuzz input, so signature
/// and key checks are reached) and the transport frames of an established <see cref="NoiseStream"/>.
/// Fixed keys make the seeds reproducible: a seed payload signed here stays valid across runs.
/// </summary>
internal static class NoiseHarnesses
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private const int MaxPayload = NoiseHandshake.MaxMessageLength - 2 * 32 - 2 * 16;

    /// <summary>The identity the scripted peer claims (seed 0x01…).</summary>
    public static Identity PeerIdentity { get; } = Identity.FromSeed(Enumerable.Repeat((byte)1, 32).ToArray());

    /// <summary>The scripted peer's Noise static private key (0x02…).</summary>
    public static byte[] PeerStaticPrivate { get; } = Enumerable.Repeat((byte)2, 32).ToArray();

    private static readonly Identity LocalIdentity = Identity.FromSeed(Enumerable.Repeat((byte)3, 32).ToArray());
    private static readonly NoiseStaticKey LocalKey = NoiseStaticKey.Create(LocalIdentity);
    private static readonly byte[] TransportKey = Enumerable.Repeat((byte)4, 32).ToArray();

    /// <summary>A valid payload of the scripted peer: its identity key and signature over its static key.</summary>
    public static byte[] ValidPeerPayload()
    {
        using var state = new NoiseHandshakeState(true, ReadOnlySpan<byte>.Empty, NoiseHandshakeState.ImportPrivateKey(PeerStaticPrivate));
        return NoiseHandshakePayload.Create(PeerIdentity, state.LocalStaticPublicKey).Encode();
    }

    // input[0] % 4 picks: 0 raw bytes to a responder, 1 raw bytes to an initiator, 2 a genuine initiator whose
    // message-3 payload is input[1..], 3 a genuine responder whose message-2 payload is input[1..].
    public static async Task HandshakeAsync(byte[] input)
    {
        if (input.Length == 0) return;
        byte[] rest = input[1..];
        try
        {
            switch (input[0] % 4)
            {
                case 0:
                    try
                    {
                        NoiseHandshakePayload.Decode(rest);
                    }
                    catch (NoiseException)
                    {
                    }
                    await RunAsync(NoiseHandshake.SecureInboundAsync(new FuzzStream(rest, 1 + (input[0] >> 2)), LocalKey)).ConfigureAwait(false);
                    break;
                case 1:
                    await RunAsync(NoiseHandshake.SecureOutboundAsync(new FuzzStream(rest, 1 + (input[0] >> 2)), LocalKey, null)).ConfigureAwait(false);
                    break;
                case 2:
                    await GenuineInitiatorAsync(rest.Length > MaxPayload ? rest[..MaxPayload] : rest).ConfigureAwait(false);
                    break;
                default:
                    await GenuineResponderAsync(rest.Length > MaxPayload ? rest[..MaxPayload] : rest).ConfigureAwait(false);
                    break;
            }
        }
        catch (NoiseException)
        {
        }
    }

    private static async Task RunAsync(Task<NoiseStream> handshake)
    {
        await FuzzFailureException.WithinAsync(handshake, Limit, "Noise handshake").ConfigureAwait(false);
        await (await handshake.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
    }

    private static async Task GenuineInitiatorAsync(byte[] payload)
    {
        using var peer = new NoiseHandshakeState(true, ReadOnlySpan<byte>.Empty, NoiseHandshakeState.ImportPrivateKey(PeerStaticPrivate));
        var stream = new ScriptedPeerStream(Frame(peer.WriteMessage(ReadOnlySpan<byte>.Empty)), written =>
        {
            peer.ReadMessage(written.AsSpan(2));
            return Frame(peer.WriteMessage(payload));
        });
        await RunAsync(NoiseHandshake.SecureInboundAsync(stream, LocalKey)).ConfigureAwait(false);
    }

    private static async Task GenuineResponderAsync(byte[] payload)
    {
        using var peer = new NoiseHandshakeState(false, ReadOnlySpan<byte>.Empty, NoiseHandshakeState.ImportPrivateKey(PeerStaticPrivate));
        int messages = 0;
        var stream = new ScriptedPeerStream([], written =>
        {
            peer.ReadMessage(written.AsSpan(2));
            return messages++ == 0 ? Frame(peer.WriteMessage(payload)) : null;
        });
        await RunAsync(NoiseHandshake.SecureOutboundAsync(stream, LocalKey, null)).ConfigureAwait(false);
    }

    private static byte[] Frame(byte[] message)
    {
        var frame = new byte[2 + message.Length];
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)message.Length);
        message.CopyTo(frame, 2);
        return frame;
    }

    // input[0]: bit 0 picks raw wire bytes (0) or sealed chunks (1); the other bits set the inner read size.
    // Sealed chunks are [length byte][bytes] (length 255 takes up to 60 KiB), each encrypted as one frame, so
    // every frame decrypts and what the stream returns must equal their concatenation.
    public static async Task TransportAsync(byte[] input)
    {
        if (input.Length == 0) return;
        bool sealedChunks = (input[0] & 1) == 1;
        int readSize = 1 + (input[0] >> 1) * 97;
        var expected = new MemoryStream();
        byte[] wire = sealedChunks ? Seal(input.AsSpan(1), expected) : input[1..];
        var send = new NoiseCipherState();
        var receive = new NoiseCipherState();
        send.InitializeKey(TransportKey);
        receive.InitializeKey(TransportKey);
        var stream = new NoiseStream(new FuzzStream(wire, readSize), send, receive, PeerIdentity.PublicKey, PeerIdentity.PeerId);
        await using (stream.ConfigureAwait(false))
        {
            var received = new MemoryStream();
            byte[] buffer = new byte[1 + (input[0] >> 3) * 331];
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0) received.Write(buffer, 0, n);
            }
            catch (NoiseException) when (!sealedChunks)
            {
            }
            if (sealedChunks)
                FuzzFailureException.Check(received.ToArray().AsSpan().SequenceEqual(expected.ToArray()), "NoiseStream returned other bytes than were sealed");
            // Writing is framing too: any length must split into frames the reader accepts.
            await stream.WriteAsync(received.ToArray()).ConfigureAwait(false);
        }
    }

    private static byte[] Seal(ReadOnlySpan<byte> chunks, MemoryStream plaintext)
    {
        using var cipher = new NoiseCipherState();
        cipher.InitializeKey(TransportKey);
        var wire = new MemoryStream();
        while (!chunks.IsEmpty)
        {
            int length = chunks[0] == 255 ? Math.Min(chunks.Length - 1, 60 * 1024) : Math.Min(chunks[0], chunks.Length - 1);
            var chunk = chunks.Slice(1, length);
            chunks = chunks[(1 + length)..];
            byte[] frame = new byte[2 + length + NoiseCipherState.TagLength];
            int n = cipher.EncryptWithAd(ReadOnlySpan<byte>.Empty, chunk, frame.AsSpan(2));
            BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)n);
            wire.Write(frame, 0, 2 + n);
            plaintext.Write(chunk);
        }
        return wire.ToArray();
    }
}
