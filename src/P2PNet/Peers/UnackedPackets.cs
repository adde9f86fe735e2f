using P2PNet.Peers.Packets;

namespace P2PNet.Peers;

/// <summary>
/// The packets a channel has written and its peer has not acknowledged yet, oldest first, numbered from the session's
/// first packet. One writer and the acknowledgements share it:
/// <list type="bullet">
/// <item>the writer stages each packet of a batch straight into the ring (<see cref="Stage"/>, no lock) and publishes
/// the batch under one lock (<see cref="Publish"/>) before writing it, so a replay always finds it;</item>
/// <item>acknowledgements trim published packets from the front (<see cref="Trim"/>), under the same lock.</item>
/// </list>
/// The slots the writer stages into lie past the published ones, so the two never touch the same slot; only the writer
/// replaces the array, under the lock. This replaced a per-batch list copied into a <see cref="Queue{T}"/>, which copied
/// every entry twice and regrew the list after every burst (a few percent of the 64 B packet rate).
/// </summary>
internal sealed class UnackedPackets
{
    /// <summary>A packet, its bytes on the wire, and who waits for its acknowledgement.</summary>
    internal readonly record struct Entry(NetworkPacket Packet, int Bytes, TaskCompletionSource? Acked);

    /// <summary>An empty ring keeps an array up to this size (a channel of small exchanges does not reallocate); larger ones are dropped.</summary>
    internal const int IdleCapacity = 256;

    private const int FirstCapacity = 16;

    private readonly Lock _sync = new();
    private Entry[] _items = [];
    // Under _sync: the oldest published entry, how many are published, their bytes, and the slot after the newest.
    private int _head;
    private int _count;
    private long _bytes;
    private int _tail;
    // The sequence number the next published entry gets (under _sync).
    private long _nextSequence = 1;
    // Writer only: entries staged after _tail and not published yet, and the published count as last seen (never below
    // the real one: acknowledgements only lower it), so that staging does not read a field the acknowledgements write.
    private int _staged;
    private int _knownCount;
    private long _stagedBytes;

    /// <summary>Published entries (written or about to be, not acknowledged).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Their bytes.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Writer: entries staged since the last <see cref="Publish"/>, and their bytes.</summary>
    public int Staged => _staged;

    /// <inheritdoc cref="Staged"/>
    public long StagedBytes => _stagedBytes;

    /// <summary>The array's length, for tests.</summary>
    internal int Capacity => _items.Length;

    /// <summary>Writer: adds a packet of the batch being written; it counts once <see cref="Publish"/> is called.</summary>
    public void Stage(NetworkPacket packet, int bytes, TaskCompletionSource? acked)
    {
        var items = _items;
        if (_knownCount + _staged >= items.Length)
        {
            _knownCount = Volatile.Read(ref _count);
            if (_knownCount + _staged >= items.Length) items = Grow();
        }
        int index = _tail + _staged;
        if (index >= items.Length) index -= items.Length;
        items[index] = new Entry(packet, bytes, acked);
        _staged++;
        _stagedBytes += bytes;
    }

    /// <summary>Writer: the staged packets get the next sequence numbers and count as unacknowledged.</summary>
    public void Publish()
    {
        if (_staged == 0) return;
        lock (_sync)
        {
            _tail += _staged;
            if (_tail >= _items.Length) _tail -= _items.Length;
            _nextSequence += _staged;
            _bytes += _stagedBytes;
            _knownCount = _count + _staged;
            Volatile.Write(ref _count, _knownCount);
        }
        _staged = 0;
        _stagedBytes = 0;
    }

    /// <summary>
    /// The peer acknowledged every packet up to <paramref name="ack"/>: drops them, and adds the waiters of those that
    /// have one to <paramref name="done"/>. Throws <see cref="PacketFormatException"/> for a packet never sent.
    /// </summary>
    public void Trim(long ack, ref List<TaskCompletionSource>? done)
    {
        lock (_sync)
        {
            if (ack >= _nextSequence)
                throw new PacketFormatException(PacketFormatError.Malformed, $"acknowledged packet {ack}, but only {_nextSequence - 1} were sent");
            long oldest = _nextSequence - _count;
            if (ack < oldest) return;
            int drop = (int)(ack - oldest + 1);
            var items = _items;
            long bytes = 0;
            int index = _head;
            for (int i = 0; i < drop; i++)
            {
                ref var entry = ref items[index];
                bytes += entry.Bytes;
                if (entry.Acked is not null) (done ??= []).Add(entry.Acked);
                entry = default; // the packet may die young
                if (++index == items.Length) index = 0;
            }
            _head = index;
            _bytes -= bytes;
            Volatile.Write(ref _count, _count - drop);
        }
    }

    /// <summary>The sequence number of the oldest unacknowledged packet, or null when there is none; with the count.</summary>
    public (long? Oldest, int Count) Oldest()
    {
        lock (_sync) return (_count > 0 ? _nextSequence - _count : null, _count);
    }

    /// <summary>The published entries, oldest first (for a replay).</summary>
    public Entry[] Snapshot()
    {
        lock (_sync)
        {
            var copy = new Entry[_count];
            CopyPublished(copy);
            return copy;
        }
    }

    /// <summary>Takes every published entry, oldest first (they are lost or handed back); staged ones stay.</summary>
    public Entry[] TakeAll()
    {
        lock (_sync)
        {
            var taken = new Entry[_count];
            CopyPublished(taken);
            ClearPublished();
            return taken;
        }
    }

    /// <summary>A new session: numbering starts again at 1 (call when nothing is published).</summary>
    public void RestartSequence()
    {
        lock (_sync) _nextSequence = 1;
    }

    /// <summary>Writer, between batches: an empty ring gives back a large array (a burst's), so an idle channel stays small.</summary>
    public void ShrinkIfEmpty()
    {
        if (_staged != 0 || Volatile.Read(ref _count) != 0 || _items.Length <= IdleCapacity) return;
        lock (_sync)
        {
            if (_count != 0) return;
            _items = [];
            _head = _tail = 0;
        }
    }

    private Entry[] Grow()
    {
        lock (_sync)
        {
            int used = _count + _staged;
            var items = new Entry[Math.Max(FirstCapacity, Math.Max(_items.Length * 2, used + 1))];
            CopyPublished(items);
            // The staged entries follow the published ones.
            for (int i = 0, index = _tail; i < _staged; i++)
            {
                items[_count + i] = _items[index];
                if (++index == _items.Length) index = 0;
            }
            _items = items;
            _head = 0;
            _tail = _count;
            return items;
        }
    }

    private void CopyPublished(Entry[] destination)
    {
        int first = Math.Min(_count, _items.Length - _head);
        Array.Copy(_items, _head, destination, 0, first);
        Array.Copy(_items, 0, destination, first, _count - first);
    }

    private void ClearPublished()
    {
        for (int i = 0, index = _head; i < _count; i++)
        {
            _items[index] = default;
            if (++index == _items.Length) index = 0;
        }
        _head = _tail;
        _bytes = 0;
        Volatile.Write(ref _count, 0);
    }
}
