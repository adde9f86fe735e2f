using System.Threading.Tasks.Sources;

namespace P2PNet.Peers;

/// <summary>
/// Where a channel's writer loop waits while its send queue is empty. Unlike a channel reader's wait, the side that
/// wakes it chooses where the loop goes on:
/// <list type="bullet">
/// <item>a reply wakes it on the replying thread, which then writes at once, as a blocking socket's caller would: one
/// thread hop fewer per round trip;</item>
/// <item>anything else wakes it on the thread pool, so a flood of sends does not become one write per send on the
/// senders' threads (that cost a fifth of the one-way 64 B rate when tried in the muxer).</item>
/// </list>
/// Protocol: the loop calls <see cref="Prepare"/>, checks for work, and then either <see cref="TryCancel"/>s (work is
/// there and no one woke it yet) or awaits <see cref="WaitAsync"/>; whoever makes work calls <see cref="Wake"/> after.
/// Both sides fence between their write and their read, so at least one sees the other.
/// </summary>
internal sealed class WriterPark : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core;
    private int _parked; // 1 from Prepare until the loop cancels or someone wakes it
    private long _wokenHere;
    private bool _lastWakeHere; // written by the waker before it completes the wait, read by the loop after it

    /// <summary>How many wakes ran the loop on the waking thread, for tests.</summary>
    internal long WokenHere => Interlocked.Read(ref _wokenHere);

    /// <summary>Loop: about to wait. Check for work after this, then <see cref="TryCancel"/> or <see cref="WaitAsync"/>.</summary>
    public void Prepare()
    {
        _core.Reset();
        Interlocked.Exchange(ref _parked, 1);
    }

    /// <summary>Loop: found work after <see cref="Prepare"/>. True when it may go on without waiting; false when a waker got there first (then wait: it completes at once).</summary>
    public bool TryCancel() => Interlocked.Exchange(ref _parked, 0) == 1;

    /// <summary>Loop: the wait, completed by <see cref="Wake"/>.</summary>
    public ValueTask WaitAsync() => new(this, _core.Version);

    /// <summary>
    /// After queueing work (or completing the queue, or cancelling the loop): wakes the loop if it waits. With
    /// <paramref name="here"/> it goes on on this thread, until it next waits; otherwise on the thread pool.
    /// </summary>
    public void Wake(bool here)
    {
        if (!IsWaiting || Interlocked.Exchange(ref _parked, 0) == 0) return;
        if (here) Interlocked.Increment(ref _wokenHere);
        _lastWakeHere = here;
        _core.RunContinuationsAsynchronously = !here;
        _core.SetResult(true);
    }

    /// <summary>Loop, after <see cref="WaitAsync"/>: whether the wake ran it on the waker's thread.</summary>
    public bool LastWakeWasHere => _lastWakeHere;

    /// <summary>
    /// After queueing work: whether the loop waits (or is about to), so a <see cref="Wake"/> is needed. Lets a caller
    /// skip working out where to wake it while it runs anyway (a flood's common case).
    /// </summary>
    public bool IsWaiting
    {
        get
        {
            // Orders the caller's queue write before this read (the loop fences the other way in Prepare).
            Interlocked.MemoryBarrier();
            return Volatile.Read(ref _parked) != 0;
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
