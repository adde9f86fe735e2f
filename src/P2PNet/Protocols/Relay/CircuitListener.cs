using System.Threading.Channels;
using P2PNet.Core;

namespace P2PNet.Protocols.Relay;

// The listener of the circuit transport: the stop handler hands it accepted circuits, the host's accept loop takes
// them (and upgrades them as inbound connections). Bounded: when the host falls behind, new circuits are refused.
internal sealed class CircuitListener : ITransportListener
{
    private readonly Channel<TransportConnection> _queue;
    private readonly Action<CircuitListener> _closed;
    private int _disposed;

    public CircuitListener(Multiaddr address, int capacity, Action<CircuitListener> closed)
    {
        ListenAddress = address;
        _closed = closed;
        _queue = Channel.CreateBounded<TransportConnection>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait });
    }

    public Multiaddr ListenAddress { get; }

    public bool TryEnqueue(TransportConnection connection) => _queue.Writer.TryWrite(connection);

    public async ValueTask<TransportConnection?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _queue.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _queue.Writer.TryComplete();
        _closed(this);
        while (_queue.Reader.TryRead(out var left)) await left.Stream.DisposeAsync().ConfigureAwait(false);
    }
}
