using System.Threading.Channels;

namespace P2PNet.Peers;

/// <summary>
/// Incoming peers waiting for the application's decision (queue-based placement). Bounded: when full,
/// further incoming peers are refused. Dequeue a request, then <see cref="InboundPeerRequest.Accept"/> or
/// <see cref="InboundPeerRequest.Reject"/> it; undecided requests are rejected after the decision timeout.
/// </summary>
public sealed class InboundConnectingPeersQueue
{
    private readonly Channel<InboundPeerRequest> _queue;

    internal InboundConnectingPeersQueue(int capacity) =>
        _queue = Channel.CreateBounded<InboundPeerRequest>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait });

    /// <summary>Requests waiting (including ones that expired but were not dequeued yet).</summary>
    public int Count => _queue.Reader.Count;

    /// <summary>Takes the next request without waiting.</summary>
    public bool TryDequeue([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out InboundPeerRequest? request) =>
        _queue.Reader.TryRead(out request);

    /// <summary>Waits for the next request.</summary>
    public ValueTask<InboundPeerRequest> DequeueAsync(CancellationToken cancellationToken = default) =>
        _queue.Reader.ReadAsync(cancellationToken);

    internal bool TryEnqueue(InboundPeerRequest request) => _queue.Writer.TryWrite(request);

    internal void Complete() => _queue.Writer.TryComplete();
}
