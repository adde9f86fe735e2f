using System.Diagnostics;

namespace P2PNet.Protocols.Transfer;

/// <summary>
/// Paces bytes to a rate shared by every stream that uses it: each caller reserves the next slot on one clock. Up to
/// 50 ms of unused time counts as credit, so that timer granularity (a delay sleeps at least ~1 ms) does not lower the rate.
/// </summary>
internal sealed class ByteRateLimiter(long bytesPerSecond)
{
    private readonly Lock _lock = new();
    private readonly double _ticksPerByte = (double)Stopwatch.Frequency / bytesPerSecond;
    private readonly long _burst = Stopwatch.Frequency / 20;
    private long _next = Stopwatch.GetTimestamp();

    public ValueTask WaitAsync(int bytes, CancellationToken cancellationToken)
    {
        long now = Stopwatch.GetTimestamp(), start;
        lock (_lock)
        {
            start = Math.Max(_next, now - _burst);
            _next = start + (long)(bytes * _ticksPerByte);
        }
        long wait = start - now;
        return wait <= Stopwatch.Frequency / 1000 ? ValueTask.CompletedTask : new ValueTask(Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), cancellationToken));
    }
}
