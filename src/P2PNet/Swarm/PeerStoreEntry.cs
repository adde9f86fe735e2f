using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>
/// An immutable snapshot of what the <see cref="PeerStore"/> knows about one peer. Addresses past their TTL
/// are left out of snapshots taken after they expired.
/// </summary>
public sealed record PeerStoreEntry
{
    /// <summary>The peer.</summary>
    public required PeerId PeerId { get; init; }

    /// <summary>Its addresses, each with its source and expiry.</summary>
    public IReadOnlyList<PeerAddress> Addresses { get; init; } = [];

    /// <summary>Its public key, once a handshake or identify proved it.</summary>
    public PublicKey? PublicKey { get; init; }

    /// <summary>The protocols it supports, from identify (empty until then).</summary>
    public IReadOnlyList<string> Protocols { get; init; } = [];

    /// <summary>Its agent string from identify, e.g. <c>go-libp2p/0.36</c>.</summary>
    public string? AgentVersion { get; init; }

    /// <summary>Its protocol version from identify, e.g. <c>ipfs/0.1.0</c>.</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>Why the last dial to it failed; null after a successful one or before any.</summary>
    public DialException? LastDialError { get; init; }

    /// <summary>When the entry last changed.</summary>
    public DateTimeOffset Updated { get; init; }

    /// <summary>Just the addresses.</summary>
    public IReadOnlyList<Multiaddr> Multiaddrs => [.. Addresses.Select(a => a.Address)];
}
