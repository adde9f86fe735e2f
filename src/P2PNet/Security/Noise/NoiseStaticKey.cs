using P2PNet.Core;

namespace P2PNet.Security.Noise;

/// <summary>
/// A Noise X25519 static key bound to a libp2p identity, with its signed handshake payload made once.
/// Reusing it across handshakes (as rust-libp2p does per transport) saves a key generation and an Ed25519
/// signature per connection; ephemeral keys stay fresh for every handshake. The private key is held in pinned
/// managed memory (<see cref="NoiseDhKey"/>) and zeroed on dispose.
/// </summary>
public sealed class NoiseStaticKey : IDisposable
{
    private NoiseStaticKey(Identity identity, NoiseDhKey key)
    {
        Identity = identity;
        Key = key;
        PublicKey = key.PublicKey;
        EncodedPayload = NoiseHandshakePayload.Create(identity, PublicKey).Encode();
    }

    /// <summary>The libp2p identity the key is signed by.</summary>
    public Identity Identity { get; }

    internal NoiseDhKey Key { get; }

    internal byte[] PublicKey { get; }

    internal byte[] EncodedPayload { get; }

    /// <summary>Makes a fresh static key for <paramref name="identity"/> and signs it.</summary>
    public static NoiseStaticKey Create(Identity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return new NoiseStaticKey(identity, NoiseHandshakeState.GenerateKey());
    }

    /// <inheritdoc />
    public void Dispose() => Key.Dispose();
}
