namespace P2PNet.Core;

/// <summary>A listening endpoint of a transport.</summary>
public interface ITransportListener : IAsyncDisposable
{
    /// <summary>The bound address (with the real port when 0 was asked for).</summary>
    Multiaddr ListenAddress { get; }

    /// <summary>Waits for the next inbound connection; returns null once the listener is disposed.</summary>
    ValueTask<TransportConnection?> AcceptAsync(CancellationToken cancellationToken = default);
}
