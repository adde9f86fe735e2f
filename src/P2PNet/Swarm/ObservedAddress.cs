using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>An address of ours as other peers see it (identify's <c>observedAddr</c>), reduced to IP and port.</summary>
/// <param name="Address">The observed address (<c>/ip4|ip6/…/tcp/…</c>).</param>
/// <param name="Observers">Distinct observers (IPv4 addresses, IPv6 /56 prefixes) reporting it over live connections.</param>
/// <param name="InboundObservers">Of those, the ones that reported it on connections they dialed to us: only they count towards confirmation.</param>
/// <param name="Confirmed">True once <see cref="SwarmOptions.ObservedAddressThreshold"/> inbound observers report it; it is then part of <see cref="SwarmHost.Addresses"/>.</param>
public sealed record ObservedAddress(Multiaddr Address, int Observers, int InboundObservers, bool Confirmed);
