using P2PNet.Core;

namespace P2PNet.Protocols.AutoNat;

/// <summary>One AutoNAT v2 server's answer about one address of ours.</summary>
/// <param name="Address">The address tested.</param>
/// <param name="Reachability"><see cref="Reachability.Public"/> when the server dialed it and our nonce came back; <see cref="Reachability.Private"/> when its dial failed.</param>
public sealed record AddressReachability(Multiaddr Address, Reachability Reachability);
