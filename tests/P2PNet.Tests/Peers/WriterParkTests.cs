using P2PNet.Peers;

namespace P2PNet.Tests.Peers;

/// <summary>The writer's park: a wake that says "here" runs the waiting loop on the waking thread, any other on the pool; a cancelled park needs no wake.</summary>
public sealed class WriterParkTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>A stand-in for the writer loop: waits once in the park, then records the thread it went on on.</summary>
    private static async Task<int> WaitOnceAsync(WriterPark park)
    {
        park.Prepare();
        await park.WaitAsync().ConfigureAwait(false);
        return Environment.CurrentManagedThreadId;
    }

    [Fact]
    public async Task A_wake_here_runs_the_loop_on_the_waking_thread()
    {
        var park = new WriterPark();
        var loop = WaitOnceAsync(park);
        Assert.False(loop.IsCompleted);
        int waker = Environment.CurrentManagedThreadId;
        park.Wake(here: true);
        // The loop ran to its end inside Wake, on this thread.
        Assert.True(loop.IsCompletedSuccessfully);
        Assert.Equal(waker, await loop);
        Assert.Equal(1, park.WokenHere);
    }

    [Fact]
    public async Task Any_other_wake_leaves_the_loop_to_the_pool_and_a_second_wake_does_nothing()
    {
        var park = new WriterPark();
        var loop = WaitOnceAsync(park);
        using var gate = new ManualResetEventSlim();
        // Wake from a thread that then blocks: the loop cannot have run on it, so it completes elsewhere.
        var waker = Task.Factory.StartNew(() =>
        {
            park.Wake(here: false);
            park.Wake(here: true); // not waiting any more: nothing to wake
            gate.Wait(Wait);
            return Environment.CurrentManagedThreadId;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        int loopThread = await loop.WaitAsync(Wait);
        gate.Set();
        Assert.NotEqual(await waker.WaitAsync(Wait), loopThread);
        Assert.Equal(0, park.WokenHere);
    }

    [Fact]
    public async Task A_loop_that_finds_work_after_preparing_cancels_its_wait_unless_a_waker_came_first()
    {
        var park = new WriterPark();
        park.Prepare();
        Assert.True(park.TryCancel()); // no one woke it: go on without waiting
        park.Wake(here: true);          // a wake now finds it running: nothing to do
        Assert.Equal(0, park.WokenHere);

        park.Prepare();
        park.Wake(here: false);         // a waker came first...
        Assert.False(park.TryCancel()); // ...so the loop must take its wake
        await park.WaitAsync().AsTask().WaitAsync(Wait);
    }
}
