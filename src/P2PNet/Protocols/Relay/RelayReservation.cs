using P2PNet.Core;

namespace P2PNet.Protocols.Relay;

/// <summary>A reservation we hold on a relay.</summary>
/// <param name="Relay">The relay's address as dialed, ending in <c>/p2p/RELAY</c>.</param>
/// <param name="RelayPeer">The relay's PeerId.</param>
/// <param name="Expires">When the relay drops it unless refreshed.</param>
/// <param name="RelayAddresses">The addresses the relay announced for itself (with <c>/p2p/RELAY</c>).</param>
/// <param name="Voucher">The verified voucher, when the relay sent one.</param>
/// <param name="Limit">The per-circuit limit the relay announced, null when none.</param>
public sealed record RelayReservation(
    Multiaddr Relay,
    PeerId RelayPeer,
    DateTimeOffset Expires,
    IReadOnlyList<Multiaddr> RelayAddresses,
    RelayVoucher? Voucher,
    RelayLimit? Limit)
{
    /// <summary>Our address through this relay, <c>RELAYADDR/p2p/RELAY/p2p-circuit</c> (append <c>/p2p/SELF</c> to hand it out).</summary>
    public Multiaddr CircuitAddress => Relay.Encapsulate(new MultiaddrComponent(MultiaddrProtocol.P2pCircuit, ""));
}
