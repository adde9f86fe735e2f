namespace P2PNet.Protocols.Relay;

// Requests per key (an IP, a peer) in fixed one-minute windows; bounded: once it tracks MaxKeys keys, keys whose
// window has passed are dropped, and if none has, new keys are refused rather than remembered.
internal sealed class RelayRateLimiter(int perMinute, TimeProvider time)
{
    private const int MaxKeys = 4096;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly Dictionary<string, (DateTimeOffset Start, int Count)> _windows = new(StringComparer.Ordinal);

    public bool TryAcquire(string key)
    {
        if (perMinute <= 0) return true;
        var now = time.GetUtcNow();
        lock (_windows)
        {
            if (_windows.TryGetValue(key, out var w) && now - w.Start < Window)
            {
                if (w.Count >= perMinute) return false;
                _windows[key] = (w.Start, w.Count + 1);
                return true;
            }
            if (_windows.Count >= MaxKeys)
            {
                foreach (var stale in _windows.Where(kv => now - kv.Value.Start >= Window).Select(kv => kv.Key).ToList()) _windows.Remove(stale);
                if (_windows.Count >= MaxKeys) return false;
            }
            _windows[key] = (now, 1);
            return true;
        }
    }
}
