using P2PNet.Security.Noise;

namespace P2PNet.Tests.Security.Noise;

public class NoiseHandshakeStateTests
{
    // Cacophony test vector for Noise_XX_25519_ChaChaPoly_SHA256 (haskell-cryptography/cacophony vectors/cacophony.txt).
    private const string Prologue = "4a6f686e2047616c74";
    private const string InitStatic = "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
    private const string InitEphemeral = "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
    private const string RespStatic = "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
    private const string RespEphemeral = "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
    private const string HandshakeHash = "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e";

    private static readonly (string Payload, string Ciphertext)[] Messages =
    [
        ("4c756477696720766f6e204d69736573",
         "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d69736573"),
        ("4d757272617920526f746862617264",
         "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad1f276e038c48378ffce2b65285e08d6b68aaa3629a5a8639392490e5b9bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f8814c7194e83f23dbd8d162c9326ad"),
        ("462e20412e20486179656b",
         "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae475b9df0f169ae80a89be0865b57f58c9fea0d4ec82a286427402f113e4b6ae769a1d95941d49b25030"),
        ("4361726c204d656e676572", "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df"),
        ("4a65616e2d426170746973746520536179", "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5"),
        ("457567656e2042f6686d20766f6e2042617765726b", "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f"),
    ];

    [Fact]
    public void Cacophony_XX_vector_matches_byte_for_byte()
    {
        byte[] prologue = Convert.FromHexString(Prologue);
        using var initiator = new NoiseHandshakeState(true, prologue,
            NoiseHandshakeState.ImportPrivateKey(Convert.FromHexString(InitStatic)),
            NoiseHandshakeState.ImportPrivateKey(Convert.FromHexString(InitEphemeral)));
        using var responder = new NoiseHandshakeState(false, prologue,
            NoiseHandshakeState.ImportPrivateKey(Convert.FromHexString(RespStatic)),
            NoiseHandshakeState.ImportPrivateKey(Convert.FromHexString(RespEphemeral)));

        for (int i = 0; i < 3; i++)
        {
            var (sender, receiver) = i % 2 == 0 ? (initiator, responder) : (responder, initiator);
            byte[] payload = Convert.FromHexString(Messages[i].Payload);
            byte[] message = sender.WriteMessage(payload);
            Assert.Equal(Messages[i].Ciphertext, Convert.ToHexStringLower(message));
            Assert.Equal(payload, receiver.ReadMessage(message));
        }
        Assert.True(initiator.IsComplete && responder.IsComplete);
        Assert.Equal(HandshakeHash, Convert.ToHexStringLower(initiator.HandshakeHash));
        Assert.Equal(HandshakeHash, Convert.ToHexStringLower(responder.HandshakeHash));
        Assert.Equal(responder.LocalStaticPublicKey.ToArray(), initiator.RemoteStaticPublicKey.ToArray());
        Assert.Equal(initiator.LocalStaticPublicKey.ToArray(), responder.RemoteStaticPublicKey.ToArray());

        var (initSend, initReceive) = initiator.Split();
        var (respSend, respReceive) = responder.Split();
        using (initSend)
        using (initReceive)
        using (respSend)
        using (respReceive)
        {
            for (int i = 3; i < Messages.Length; i++)
            {
                var (send, receive) = i % 2 == 0 ? (initSend, respReceive) : (respSend, initReceive);
                byte[] payload = Convert.FromHexString(Messages[i].Payload);
                byte[] ciphertext = new byte[payload.Length + NoiseCipherState.TagLength];
                send.EncryptWithAd(default, payload, ciphertext);
                Assert.Equal(Messages[i].Ciphertext, Convert.ToHexStringLower(ciphertext));
                byte[] plaintext = new byte[payload.Length];
                receive.DecryptWithAd(default, ciphertext, plaintext);
                Assert.Equal(payload, plaintext);
            }
        }
    }

    [Fact]
    public void Tampered_second_message_fails_to_decrypt()
    {
        using var initiator = new NoiseHandshakeState(true, default, NoiseHandshakeState.GenerateKey());
        using var responder = new NoiseHandshakeState(false, default, NoiseHandshakeState.GenerateKey());
        responder.ReadMessage(initiator.WriteMessage(default));
        byte[] message = responder.WriteMessage("hello"u8);
        message[40] ^= 1; // inside the encrypted static key
        var ex = Assert.Throws<NoiseException>(() => initiator.ReadMessage(message));
        Assert.Equal(NoiseError.DecryptFailed, ex.Error);
    }

    [Fact]
    public void Short_handshake_message_is_rejected()
    {
        using var responder = new NoiseHandshakeState(false, default, NoiseHandshakeState.GenerateKey());
        var ex = Assert.Throws<NoiseException>(() => responder.ReadMessage(new byte[31]));
        Assert.Equal(NoiseError.BadMessage, ex.Error);
    }
}
