namespace P2PNet.Peers.Bootstrap;

/// <summary>
/// Every answer of a bootstrap server: the exact JSON bytes of the answer (base64) and, in authority mode,
/// the signer's PeerId and its Ed25519 signature over <see cref="BootstrapSigning.AnswerBytes"/>. Signing the
/// bytes (not a re-serialization) means the client verifies exactly what it then parses.
/// </summary>
public sealed record BootstrapEnvelope
{
    /// <summary>What the payload is: <c>identity</c>, <c>peers</c>, <c>ip</c> or <c>register</c>; it is signed too.</summary>
    public string Kind { get; init; } = "";

    /// <summary>Base64 of the answer's UTF-8 JSON.</summary>
    public string Payload { get; init; } = "";

    /// <summary>The signer's PeerId (authority mode), else null.</summary>
    public string? Signer { get; init; }

    /// <summary>Base64 Ed25519 signature (authority mode), else null.</summary>
    public string? Signature { get; init; }
}
