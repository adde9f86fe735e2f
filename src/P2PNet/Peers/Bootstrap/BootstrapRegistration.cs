namespace P2PNet.Peers.Bootstrap;

/// <summary>
/// A peer's signed registration (also its heartbeat): the peer signs <see cref="BootstrapSigning.RegistrationBytes"/>
/// of these fields with its identity key, so nobody can register addresses under someone else's PeerId.
/// </summary>
public sealed record BootstrapRegistration
{
    /// <summary>The registering peer (base58 PeerId with its public key inlined).</summary>
    public string PeerId { get; init; } = "";

    /// <summary>Where the peer can be dialed (TCP multiaddrs, without <c>/p2p/</c>).</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];

    /// <summary>The network name the peer belongs to.</summary>
    public string Network { get; init; } = "";

    /// <summary>When the peer signed, Unix milliseconds; must be fresh and newer than the last accepted one.</summary>
    public long Timestamp { get; init; }

    /// <summary>Base64 Ed25519 signature of the canonical bytes.</summary>
    public string? Signature { get; init; }
}
