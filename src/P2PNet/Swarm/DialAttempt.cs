using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>One address tried during a dial, and why it failed.</summary>
/// <param name="Address">The address dialed (without <c>/p2p/</c>).</param>
/// <param name="Error">The kind of failure.</param>
/// <param name="Exception">The failure itself.</param>
public sealed record DialAttempt(Multiaddr Address, DialError Error, Exception Exception);
