namespace P2PNet.Bootstrap;

/// <summary>Counts accepted registrations over the last minute in 60 one-second buckets (lock-free).</summary>
internal sealed class RegistrationMeter
{
    private readonly long[] _seconds = new long[60];
    private readonly long[] _counts = new long[60];
    private readonly TimeProvider _time;

    public RegistrationMeter(TimeProvider time) => _time = time;

    public void Add()
    {
        long second = _time.GetUtcNow().ToUnixTimeSeconds();
        int slot = (int)(second % 60);
        long previous = Interlocked.Exchange(ref _seconds[slot], second);
        if (previous != second) Interlocked.Exchange(ref _counts[slot], 0);
        Interlocked.Increment(ref _counts[slot]);
    }

    public long LastMinute()
    {
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        long total = 0;
        for (int i = 0; i < 60; i++)
            if (now - Volatile.Read(ref _seconds[i]) < 60) total += Volatile.Read(ref _counts[i]);
        return total;
    }
}
