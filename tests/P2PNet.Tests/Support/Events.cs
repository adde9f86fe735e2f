namespace P2PNet.Tests.Support;

/// <summary>Awaiting one event with a timeout, instead of a TaskCompletionSource and a handler in each test.</summary>
internal static class Events
{
    /// <summary>
    /// Completes with the first event args for which <paramref name="match"/> holds (any, when null); fails with a
    /// <see cref="TimeoutException"/> once <paramref name="timeout"/> has passed since this call (the subscription).
    /// </summary>
    public static Task<T> Next<T>(Action<EventHandler<T>> subscribe, Func<T, bool>? match, TimeSpan timeout)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscribe((_, e) => { if (match is null || match(e)) tcs.TrySetResult(e); });
        return tcs.Task.WaitAsync(timeout);
    }
}
