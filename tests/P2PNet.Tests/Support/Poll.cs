using System.Diagnostics;

namespace P2PNet.Tests.Support;

/// <summary>
/// Polls a condition that no single event signals (a state of several objects, a counter) until it holds or the
/// time is up. Where one event says it, await that event instead (<c>PeerTestNetwork.Next</c>).
/// </summary>
internal static class Poll
{
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > timeout) throw new TimeoutException($"timed out after {timeout.TotalSeconds} s waiting for {what}");
            await Task.Delay(10);
        }
    }
}
