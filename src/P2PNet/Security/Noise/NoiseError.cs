namespace P2PNet.Security.Noise;

/// <summary>Why a Noise handshake or secured connection failed.</summary>
public enum NoiseError
{
    /// <summary>The inner stream ended in the middle of a handshake message or transport frame.</summary>
    Truncated,

    /// <summary>A message would exceed the 65535-byte Noise message limit.</summary>
    FrameTooLarge,

    /// <summary>An AEAD tag did not verify: the data was corrupted, forged or out of order.</summary>
    DecryptFailed,

    /// <summary>The libp2p handshake payload was malformed or over its limits.</summary>
    BadPayload,

    /// <summary>The remote's identity signature over its Noise static key did not verify.</summary>
    BadSignature,

    /// <summary>The remote authenticated as a different peer than the one dialed.</summary>
    PeerIdMismatch,

    /// <summary>The remote's identity key type cannot be verified here (only Ed25519 is supported).</summary>
    UnsupportedKey,

    /// <summary>A handshake message was shorter than the XX pattern requires.</summary>
    BadMessage,

    /// <summary>A Diffie-Hellman public key was invalid (e.g. a low-order point giving an all-zero secret).</summary>
    BadNoiseKey,

    /// <summary>The 2^64-1 nonce limit was reached; the connection must be closed.</summary>
    NonceExhausted,
}
