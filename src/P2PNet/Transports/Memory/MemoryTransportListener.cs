using System.Threading.Channels;
using P2PNet.Core;

namespace P2PNet.Transports.Memory;

/// <summary>A listening <c>/memory/ID</c>: dials queue here (bounded, like a TCP backlog) until accepted.</summary>
internal sealed class MemoryTransportListener : ITransportListener
{
    // Dials beyond this many unaccepted connections are refused, as a full TCP backlog would.
    private const int Backlog = 128;

    private readonly MemoryTransportHub _hub;
    private readonly ulong _id;
    private readonly Channel<TransportConnection> _pending =
        Channel.CreateBounded<TransportConnection>(new BoundedChannelOptions(Backlog) { FullMode = BoundedChannelFullMode.Wait });
    private int _disposed;

    public MemoryTransportListener(MemoryTransportHub hub, ulong id)
    {
        _hub = hub;
        _id = id;
        ListenAddress = MemoryTransport.Address(id);
    }

    public Multiaddr ListenAddress { get; }

    public bool TryEnqueue(TransportConnection connection) => _pending.Writer.TryWrite(connection);

    public async ValueTask<TransportConnection?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _pending.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _hub.Unregister(_id, this);
        _pending.Writer.TryComplete();
        // Connections dialed but never accepted are closed, as the kernel resets a closed socket's backlog.
        while (_pending.Reader.TryRead(out var orphan)) await orphan.Stream.DisposeAsync().ConfigureAwait(false);
    }
}
