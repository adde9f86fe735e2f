using P2PNet.Core;
using P2PNet.Security.Noise;

namespace P2PNet.Tests.Security.Noise;

public class NoiseHandshakePayloadTests
{
    [Fact]
    public void Round_trips_and_skips_extensions()
    {
        using var id = Identity.Generate();
        var payload = NoiseHandshakePayload.Create(id, new byte[32]);
        byte[] encoded = payload.Encode();

        // Append NoiseExtensions { stream_muxers = ["/yamux/1.0.0"]; webtransport_certhashes = [0x01] } as field 4.
        byte[] extensions = [0x0a, 0x01, 0x01, 0x12, 0x0c, .. "/yamux/1.0.0"u8];
        byte[] withExtensions = [.. encoded, 0x22, (byte)extensions.Length, .. extensions];

        var decoded = NoiseHandshakePayload.Decode(withExtensions);
        Assert.Equal(id.PublicKey.ToProtobuf(), decoded.IdentityKey);
        Assert.Equal(payload.IdentitySignature, decoded.IdentitySignature);
        Assert.True(id.PublicKey.Verify(NoiseHandshakePayload.SignedData(new byte[32]), decoded.IdentitySignature));
    }

    [Fact]
    public void Malformed_or_incomplete_payloads_are_BadPayload()
    {
        Assert.Equal(NoiseError.BadPayload, Assert.Throws<NoiseException>(() => NoiseHandshakePayload.Decode([0x0a, 0x05, 0x01])).Error);
        Assert.Equal(NoiseError.BadPayload, Assert.Throws<NoiseException>(() => NoiseHandshakePayload.Decode([0x0a, 0x01, 0x01])).Error);
        Assert.Equal(NoiseError.BadPayload, Assert.Throws<NoiseException>(() => NoiseHandshakePayload.Decode([])).Error);

        var huge = new NoiseHandshakePayload(new byte[PublicKey.MaxEncodedLength + 1], new byte[64]);
        Assert.Equal(NoiseError.BadPayload, Assert.Throws<NoiseException>(() => NoiseHandshakePayload.Decode(huge.Encode())).Error);
    }
}
