using P2PNet.Swarm;

namespace P2PNet.Protocols.Identify;

/// <summary>A peer told us who it is, over a connection whose PeerId its key matches.</summary>
/// <param name="Connection">The connection it answered on.</param>
/// <param name="Info">What it said.</param>
public sealed record PeerIdentifiedEventArgs(Connection Connection, IdentifyInfo Info);
