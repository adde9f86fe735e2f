using NSec.Cryptography;
using P2PNet.Security.Noise;

namespace P2PNet.Tests.Security.Noise;

/// <summary>X25519 through libsodium with managed keys: the RFC 7748 vectors and the same results as NSec.</summary>
public class NoiseDhKeyTests
{
    // RFC 7748 section 6.1.
    private const string AlicePrivate = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    private const string AlicePublic = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
    private const string BobPrivate = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
    private const string BobPublic = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";

    [Fact]
    public void Rfc7748_public_keys_and_a_shared_secret_equal_to_NSec_s()
    {
        using var alice = NoiseDhKey.Import(Convert.FromHexString(AlicePrivate));
        using var bob = NoiseDhKey.Import(Convert.FromHexString(BobPrivate));
        Assert.Equal(AlicePublic, Convert.ToHexStringLower(alice.PublicKey));
        Assert.Equal(BobPublic, Convert.ToHexStringLower(bob.PublicKey));

        byte[] ab = new byte[32], ba = new byte[32];
        Assert.True(alice.TryAgree(bob.PublicKey, ab));
        Assert.True(bob.TryAgree(alice.PublicKey, ba));
        Assert.Equal(ab, ba);

        // The same agreement through NSec (what the handshake used before).
        var x25519 = KeyAgreementAlgorithm.X25519;
        using var nsecAlice = Key.Import(x25519, Convert.FromHexString(AlicePrivate), KeyBlobFormat.RawPrivateKey);
        var bobKey = NSec.Cryptography.PublicKey.Import(x25519, Convert.FromHexString(BobPublic), KeyBlobFormat.RawPublicKey);
        var parameters = new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        using var shared = x25519.Agree(nsecAlice, bobKey, in parameters);
        Assert.NotNull(shared);
        Assert.Equal(shared.Export(SharedSecretBlobFormat.RawSharedSecret), ab);
    }

    [Fact]
    public void Generated_keys_agree_and_differ()
    {
        using var a = NoiseDhKey.Generate();
        using var b = NoiseDhKey.Generate();
        Assert.NotEqual(a.PublicKey, b.PublicKey);
        byte[] ab = new byte[32], ba = new byte[32];
        Assert.True(a.TryAgree(b.PublicKey, ab));
        Assert.True(b.TryAgree(a.PublicKey, ba));
        Assert.Equal(ab, ba);
        Assert.Contains(ab, x => x != 0);
    }

    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")] // the identity
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000")] // order 1
    [InlineData("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")] // order 8
    public void A_low_order_remote_key_is_refused(string remoteHex)
    {
        using var key = NoiseDhKey.Generate();
        Assert.False(key.TryAgree(Convert.FromHexString(remoteHex), new byte[32]));
    }

    [Fact]
    public void A_low_order_ephemeral_key_fails_the_handshake_as_a_bad_key()
    {
        using var responder = new NoiseHandshakeState(false, default, NoiseDhKey.Generate());
        byte[] message1 = new byte[32]; // an all-zero ephemeral key, no payload
        responder.ReadMessage(message1);
        var ex = Assert.Throws<NoiseException>(() => responder.WriteMessage(ReadOnlySpan<byte>.Empty));
        Assert.Equal(NoiseError.BadNoiseKey, ex.Error);
    }

    [Fact]
    public void A_disposed_key_refuses_to_agree()
    {
        var key = NoiseDhKey.Generate();
        key.Dispose();
        Assert.Throws<ObjectDisposedException>(() => key.TryAgree(key.PublicKey, new byte[32]));
    }
}
