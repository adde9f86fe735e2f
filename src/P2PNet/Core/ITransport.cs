namespace P2PNet.Core;

/// <summary>A transport: dials and listens on multiaddrs it understands.</summary>
public interface ITransport
{
    /// <summary>True when this transport can dial or listen on <paramref name="address"/>.</summary>
    bool CanHandle(Multiaddr address);

    /// <summary>Dials <paramref name="address"/> and returns the raw connection.</summary>
    ValueTask<TransportConnection> DialAsync(Multiaddr address, CancellationToken cancellationToken = default);

    /// <summary>Starts listening on <paramref name="address"/> (port 0 picks a free port).</summary>
    ValueTask<ITransportListener> ListenAsync(Multiaddr address, CancellationToken cancellationToken = default);
}
