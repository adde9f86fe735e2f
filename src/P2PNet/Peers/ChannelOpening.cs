using P2PNet.Swarm;

namespace P2PNet.Peers;

/// <summary>
/// One channel being opened with a peer (see <c>PeerNetwork._opening</c>): lets an inbound channel from a peer
/// whose dial has priority wait for our own dial to that peer to end, and lets that dial hand over to it.
/// </summary>
internal sealed class ChannelOpening(bool outbound, Connection connection)
{
    private readonly TaskCompletionSource<PeerChannel?> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ChannelOpening? _yieldedTo;

    /// <summary>True for our dial, false for a peer's.</summary>
    public bool Outbound => outbound;

    /// <summary>The connection the channel is being opened on (both nodes may open theirs on one connection).</summary>
    public Connection Connection => connection;

    /// <summary>The inbound opening this dial gives way to, once one has asked.</summary>
    public ChannelOpening? YieldedTo => Volatile.Read(ref _yieldedTo);

    /// <summary>Records that <paramref name="inbound"/> takes over from this dial.</summary>
    public void YieldTo(ChannelOpening inbound) => Volatile.Write(ref _yieldedTo, inbound);

    /// <summary>Marks the attempt over, with the channel it opened (null when it failed or was refused).</summary>
    public void Ended(PeerChannel? channel = null) => _ended.TrySetResult(channel);

    /// <summary>Waits, at most <paramref name="timeout"/>, for the attempt to end; returns its channel, or null.</summary>
    public async Task<PeerChannel?> WaitEndedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await _ended.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }
}
