using P2PNet.Core;

namespace P2PNet.Protocols.Relay;

/// <summary>
/// The circuit relay transport (<c>/p2p-circuit</c>), added to the host by <see cref="RelayClient"/>: dials
/// <c>RELAYADDR/p2p/RELAY/p2p-circuit/p2p/TARGET</c> through the relay, and listens on <c>/p2p-circuit</c> for
/// circuits the relay opens to us. Connections it makes are limited when the relay announces a limit.
/// </summary>
public sealed class CircuitTransport : ITransport
{
    private readonly RelayClient _client;

    internal CircuitTransport(RelayClient client) => _client = client;

    /// <summary>The transport name in <c>ConnectionInfo.Transport</c>.</summary>
    public const string Name = "p2p-circuit";

    /// <inheritdoc />
    public bool CanHandle(Multiaddr address) => address is not null && address.IsCircuit;

    /// <inheritdoc />
    public ValueTask<TransportConnection> DialAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        return new(_client.DialCircuitAsync(address, cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask<ITransportListener> ListenAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        return ValueTask.FromResult<ITransportListener>(_client.Listen(address));
    }
}
