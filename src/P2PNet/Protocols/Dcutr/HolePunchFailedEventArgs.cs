using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Protocols.Dcutr;

/// <summary>Hole punching with a peer gave up; the relayed connection stays.</summary>
/// <param name="Peer">The peer.</param>
/// <param name="Relayed">The relayed connection, still in use.</param>
/// <param name="Reason">Why, for people (the last attempt's failure, or why none was made).</param>
/// <param name="Attempts">Attempts made.</param>
public sealed record HolePunchFailedEventArgs(PeerId Peer, Connection Relayed, string Reason, int Attempts);
