using System.Collections.Concurrent;

namespace P2PNet.Transports.Memory;

/// <summary>
/// The address space of <see cref="MemoryTransport"/>s: listeners register their <c>/memory/ID</c> here and dials
/// look them up. Hosts that should reach each other share one hub (typically one per test); there is no
/// process-wide registry, so tests running in parallel never see each other's listeners.
/// </summary>
public sealed class MemoryTransportHub
{
    private readonly ConcurrentDictionary<ulong, MemoryTransportListener> _listeners = new();
    private long _nextId;

    internal ulong NextId() => (ulong)Interlocked.Increment(ref _nextId);

    internal bool TryRegister(ulong id, MemoryTransportListener listener) => _listeners.TryAdd(id, listener);

    internal void Unregister(ulong id, MemoryTransportListener listener) =>
        _listeners.TryRemove(new KeyValuePair<ulong, MemoryTransportListener>(id, listener));

    internal MemoryTransportListener? Find(ulong id) => _listeners.GetValueOrDefault(id);
}
