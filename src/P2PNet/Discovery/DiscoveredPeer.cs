using System.Net;
using P2PNet.Core;

namespace P2PNet.Discovery;

/// <summary>
/// A peer candidate reported by a discovery mechanism: who it claims to be, where it says it listens, and
/// who told us. Nothing here is proven: dialing the addresses with the PeerId is what proves it (Noise).
/// </summary>
/// <param name="PeerId">The identifier the peer announced.</param>
/// <param name="Addresses">The addresses it announced (without <c>/p2p/</c>).</param>
/// <param name="Source">The mechanism (<see cref="DiscoverySources"/>).</param>
/// <param name="From">The sender of the announcement, when it came over the network.</param>
public sealed record DiscoveredPeer(PeerId PeerId, IReadOnlyList<Multiaddr> Addresses, string Source, IPEndPoint? From = null);
