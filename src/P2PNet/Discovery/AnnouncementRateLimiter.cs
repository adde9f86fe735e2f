using System.Net;

namespace P2PNet.Discovery;

/// <summary>
/// Fixed one-second windows per sender and in total, so that a flood of announcements costs a counter
/// lookup, not a decode and a dial. Not thread-safe: used by one receive loop.
/// </summary>
internal sealed class AnnouncementRateLimiter(int perSender, int total, int maxSenders, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<IPAddress, (long Window, int Count)> _senders = [];
    private long _window = -1;
    private int _total;

    /// <summary>True when one more announcement from <paramref name="sender"/> is allowed now.</summary>
    public bool Allow(IPAddress sender)
    {
        ArgumentNullException.ThrowIfNull(sender);
        long window = _time.GetTimestamp() / _time.TimestampFrequency;
        if (window != _window)
        {
            _window = window;
            _total = 0;
            if (_senders.Count >= maxSenders) _senders.Clear();
        }
        if (++_total > total) return false;
        (long Window, int Count) entry = _senders.TryGetValue(sender, out var e) && e.Window == window ? e : (window, 0);
        entry.Count++;
        _senders[sender] = entry;
        return entry.Count <= perSender;
    }
}
