using System.Threading.Channels;

namespace P2PNet.Peers;

/// <summary>
/// A channel's send queue: bounded, first in first out, written by any thread and read by one (the channel's writer).
/// <para>
/// Unlike a <see cref="BoundedChannelOptions">bounded</see> <see cref="Channel{T}"/>, whose reader takes the lock for
/// every item and lets one waiting sender in for every item it takes, the reader here takes everything written so far
/// under one lock and reads it without the lock, and it gives back the room of what it read in steps (a quarter of the
/// capacity, and at the end of each of its batches). A sender that found the queue full then resumes once for many
/// packets instead of once per packet. (With the channel's queue full in a 64 B flood, the per-item lock and hand-off
/// took about a sixth of the CPU.)
/// </para>
/// <para>The room counts what was read and not yet given back, so the queue never holds more than its capacity.</para>
/// </summary>
internal sealed class SendQueue<T>
{
    private readonly object _lock = new();
    private readonly int _capacity;
    private readonly int _step;
    // Under _lock: what senders wrote since the reader last took it; items counted against the capacity (written, and
    // read but not yet given back); senders waiting for room, oldest first; whether writing has ended.
    private Queue<T> _incoming = new();
    private int _held;
    private readonly LinkedList<Waiter> _waiters = new();
    private bool _completed;
    // The reader's own: the items it took from _incoming, and how many of them it read since it last gave back room.
    private Queue<T> _draining = new();
    private int _read;
    private int _peak; // the most the reader took at once since it last trimmed

    /// <summary>A queue of <paramref name="capacity"/> items.</summary>
    public SendQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _step = Math.Max(1, capacity / 4);
    }

    /// <summary>Items queued and not yet read (for tests and diagnostics: a snapshot).</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _held - Volatile.Read(ref _read);
        }
    }

    /// <summary>Queues <paramref name="item"/> if there is room and no sender waits for it; false otherwise, or once completed.</summary>
    public bool TryWrite(T item)
    {
        lock (_lock)
        {
            if (_completed || _held >= _capacity || _waiters.Count > 0) return false;
            _incoming.Enqueue(item);
            _held++;
            return true;
        }
    }

    /// <summary>
    /// Queues <paramref name="item"/>, waiting (behind earlier waiting senders) while the queue is full. Throws
    /// <see cref="ChannelClosedException"/> once completed; cancelling a wait leaves the item out.
    /// </summary>
    public ValueTask WriteAsync(T item, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        var waiter = new Waiter(this, item);
        lock (_lock)
        {
            if (_completed) return ValueTask.FromException(new ChannelClosedException());
            if (_held < _capacity && _waiters.Count == 0)
            {
                _incoming.Enqueue(item);
                _held++;
                return default;
            }
            waiter.Node = _waiters.AddLast(waiter);
        }
        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).Cancel(token), waiter);
        }
        return new ValueTask(waiter.Done.Task);
    }

    /// <summary>Ends writing: waiting and later senders get <see cref="ChannelClosedException"/>; what is queued can still be read. False if already ended.</summary>
    public bool Complete()
    {
        List<Waiter> failed;
        lock (_lock)
        {
            if (_completed) return false;
            _completed = true;
            failed = [.. _waiters];
            foreach (var waiter in failed) waiter.Node = null;
            _waiters.Clear();
        }
        foreach (var waiter in failed) waiter.Fail(new ChannelClosedException());
        return true;
    }

    /// <summary>Reader only: takes the oldest item.</summary>
    public bool TryRead(out T item)
    {
        if (_draining.Count == 0 && !Refill())
        {
            item = default!;
            return false;
        }
        item = _draining.Dequeue();
        if (++_read >= _step) GiveBackRoom();
        return true;
    }

    /// <summary>Reader only: whether an item is queued.</summary>
    public bool HasItems() => _draining.Count > 0 || Refill();

    /// <summary>Reader only: writing has ended and every item was read.</summary>
    public bool IsCompletedAndEmpty
    {
        get
        {
            if (_draining.Count > 0) return false;
            lock (_lock) return _completed && _incoming.Count == 0;
        }
    }

    /// <summary>
    /// Reader only, at the end of a batch: gives back the room of what it read, so that senders may fill it while the
    /// batch is written (and a reader that stops reading, for a full window, holds no room it does not use).
    /// </summary>
    public void EndBatch()
    {
        if (_read > 0) GiveBackRoom();
    }

    /// <summary>Reader only, when the queue is empty and the reader goes idle: a burst's large arrays are not kept.</summary>
    public void TrimIdle()
    {
        // Only after a burst: trimming small arrays would allocate again on every round trip.
        if (_peak <= IdleItems || _draining.Count > 0) return;
        _peak = 0;
        _draining.TrimExcess(IdleItems);
        lock (_lock)
        {
            if (_incoming.Count == 0) _incoming.TrimExcess(IdleItems);
        }
    }

    private const int IdleItems = 16;

    // Reader only: gives back room and takes what senders wrote meanwhile.
    private bool Refill()
    {
        List<Waiter>? admitted = null;
        lock (_lock)
        {
            GiveBackRoomLocked(ref admitted);
            if (_incoming.Count > 0) (_incoming, _draining) = (_draining, _incoming);
        }
        if (_draining.Count > _peak) _peak = _draining.Count;
        Admitted(admitted);
        return _draining.Count > 0;
    }

    private void GiveBackRoom()
    {
        List<Waiter>? admitted = null;
        lock (_lock) GiveBackRoomLocked(ref admitted);
        Admitted(admitted);
    }

    private void GiveBackRoomLocked(ref List<Waiter>? admitted)
    {
        _held -= _read;
        Volatile.Write(ref _read, 0);
        // Waiting senders take the room first, in order: a TryWrite fails while any waits.
        while (_held < _capacity && _waiters.First is { } node)
        {
            _waiters.RemoveFirst();
            node.Value.Node = null;
            _incoming.Enqueue(node.Value.Item);
            _held++;
            (admitted ??= []).Add(node.Value);
        }
    }

    // Outside the lock: their continuations run on the pool (RunContinuationsAsynchronously), not in the reader.
    private static void Admitted(List<Waiter>? admitted)
    {
        if (admitted is null) return;
        foreach (var waiter in admitted) waiter.Succeed();
    }

    private sealed class Waiter(SendQueue<T> queue, T item)
    {
        public T Item { get; } = item;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Waiter>? Node;         // under the queue's lock: null once admitted or failed
        public CancellationTokenRegistration Registration;

        public void Succeed()
        {
            Registration.Unregister();
            Done.TrySetResult();
        }

        public void Fail(Exception error)
        {
            Registration.Unregister();
            Done.TrySetException(error);
        }

        public void Cancel(CancellationToken token)
        {
            lock (queue._lock)
            {
                // Admitted already: the item is queued, and the write succeeded.
                if (Node is null) return;
                queue._waiters.Remove(Node);
                Node = null;
            }
            Done.TrySetCanceled(token);
        }
    }
}
