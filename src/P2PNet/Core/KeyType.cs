namespace P2PNet.Core;

/// <summary>Key types of the libp2p key protobuf (peer-ids spec). Only Ed25519 keys are created here.</summary>
public enum KeyType
{
    /// <summary>RSA.</summary>
    Rsa = 0,
    /// <summary>Ed25519, the only type P2PNet creates and verifies.</summary>
    Ed25519 = 1,
    /// <summary>secp256k1.</summary>
    Secp256k1 = 2,
    /// <summary>ECDSA.</summary>
    Ecdsa = 3,
}
