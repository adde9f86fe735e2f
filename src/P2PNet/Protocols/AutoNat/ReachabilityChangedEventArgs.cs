using P2PNet.Core;

namespace P2PNet.Protocols.AutoNat;

/// <summary>The host's reachability changed.</summary>
/// <param name="Previous">What it was.</param>
/// <param name="Current">What it is now.</param>
/// <param name="PublicAddresses">The addresses found reachable (empty unless <paramref name="Current"/> is <see cref="Reachability.Public"/>).</param>
public sealed record ReachabilityChangedEventArgs(Reachability Previous, Reachability Current, IReadOnlyList<Multiaddr> PublicAddresses);
