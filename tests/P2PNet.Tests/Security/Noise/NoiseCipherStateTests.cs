using P2PNet.Security.Noise;

namespace P2PNet.Tests.Security.Noise;

public class NoiseCipherStateTests
{
    [Fact]
    public void Last_nonce_is_usable_then_exhaustion_is_an_error()
    {
        byte[] key = new byte[32];
        using var sender = new NoiseCipherState();
        using var receiver = new NoiseCipherState();
        sender.InitializeKey(key);
        receiver.InitializeKey(key);
        sender.Nonce = receiver.Nonce = ulong.MaxValue - 1;
        byte[] ciphertext = new byte[4 + NoiseCipherState.TagLength];
        sender.EncryptWithAd(default, "last"u8, ciphertext);
        byte[] plaintext = new byte[4];
        receiver.DecryptWithAd(default, ciphertext, plaintext);
        Assert.Equal("last"u8.ToArray(), plaintext);

        Assert.Equal(NoiseError.NonceExhausted, Assert.Throws<NoiseException>(() => sender.EncryptWithAd(default, "more"u8, ciphertext)).Error);
        Assert.Equal(NoiseError.NonceExhausted, Assert.Throws<NoiseException>(() => receiver.DecryptWithAd(default, ciphertext, plaintext)).Error);
    }

    [Fact]
    public void Decrypt_in_place_works_and_failure_keeps_the_nonce()
    {
        byte[] key = new byte[32];
        key[0] = 7;
        using var sender = new NoiseCipherState();
        using var receiver = new NoiseCipherState();
        sender.InitializeKey(key);
        receiver.InitializeKey(key);
        byte[] buffer = new byte[5 + NoiseCipherState.TagLength];
        sender.EncryptWithAd(default, "hello"u8, buffer);
        byte[] corrupted = (byte[])buffer.Clone();
        corrupted[0] ^= 0x80;
        Assert.Equal(NoiseError.DecryptFailed, Assert.Throws<NoiseException>(() => receiver.DecryptWithAd(default, corrupted, corrupted)).Error);
        Assert.Equal(0UL, receiver.Nonce);
        int n = receiver.DecryptWithAd(default, buffer, buffer);
        Assert.Equal("hello"u8.ToArray(), buffer[..n]);
        Assert.Equal(1UL, receiver.Nonce);
    }
}
