using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Protocols.Dcutr;

/// <summary>A relayed connection was upgraded: a direct connection to the peer is up.</summary>
/// <param name="Peer">The peer.</param>
/// <param name="Connection">The direct connection (the host now prefers it for new streams).</param>
/// <param name="Relayed">The relayed connection it upgrades (left open; the relay's limits end it).</param>
/// <param name="Attempts">Attempts it took (1 = the first).</param>
/// <param name="Elapsed">Time from the relayed connection opening to the direct one.</param>
public sealed record DirectConnectionEventArgs(PeerId Peer, Connection Connection, Connection Relayed, int Attempts, TimeSpan Elapsed);
