using P2PNet.Core;

namespace P2PNet.Protocols.Relay;

// The spec's Peer message: a PeerId and the addresses it may be reached at (addresses that do not parse are dropped).
internal sealed record RelayPeer(PeerId Id, IReadOnlyList<Multiaddr> Addrs);
