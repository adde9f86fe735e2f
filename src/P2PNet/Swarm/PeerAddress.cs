using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>One address of a peer in the <see cref="PeerStore"/>.</summary>
/// <param name="Address">The address, without <c>/p2p/</c>.</param>
/// <param name="Source">Who told us (the latest source that extended its lifetime).</param>
/// <param name="Expires">When it is dropped; <see cref="DateTimeOffset.MaxValue"/> for never.</param>
public sealed record PeerAddress(Multiaddr Address, AddressSource Source, DateTimeOffset Expires);
