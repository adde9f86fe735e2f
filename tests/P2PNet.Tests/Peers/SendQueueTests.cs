using System.Threading.Channels;
using P2PNet.Peers;

namespace P2PNet.Tests.Peers;

/// <summary>The channel's send queue: order, the bound, room given back in steps, waiting senders, cancellation and completion.</summary>
public sealed class SendQueueTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static List<int> ReadAll(SendQueue<int> queue)
    {
        var items = new List<int>();
        while (queue.TryRead(out int item)) items.Add(item);
        return items;
    }

    [Fact]
    public async Task Items_come_out_in_the_order_written_and_waiting_senders_follow_the_queued_items()
    {
        var queue = new SendQueue<int>(4);
        for (int i = 1; i <= 4; i++) Assert.True(queue.TryWrite(i));
        Assert.False(queue.TryWrite(99));
        var fifth = queue.WriteAsync(5, CancellationToken.None).AsTask();
        var sixth = queue.WriteAsync(6, CancellationToken.None).AsTask();
        Assert.False(fifth.IsCompleted);
        Assert.Equal(4, queue.Count);
        Assert.True(queue.TryRead(out int first));
        Assert.Equal(1, first);
        // Read and given back: the waiting senders take the room before a TryWrite can.
        queue.EndBatch();
        await fifth.WaitAsync(Wait);
        Assert.False(queue.TryWrite(7));
        // (A quarter of 4 is 1: room comes back with each item read, and the sixth is let in behind the fifth.)
        Assert.Equal([2, 3, 4, 5, 6], ReadAll(queue));
        await sixth.WaitAsync(Wait);
        Assert.True(queue.TryWrite(7));
        Assert.Equal([7], ReadAll(queue));
        Assert.False(queue.HasItems());
    }

    [Fact]
    public async Task The_reader_gives_back_room_in_steps_so_a_waiting_sender_resumes_once_for_many_items()
    {
        // Capacity 8: room comes back after every 2 items read (a quarter), not after each one.
        var queue = new SendQueue<int>(8);
        for (int i = 0; i < 8; i++) Assert.True(queue.TryWrite(i));
        var waiting = queue.WriteAsync(8, CancellationToken.None).AsTask();
        Assert.True(queue.TryRead(out _));
        Assert.False(waiting.IsCompleted);
        Assert.False(queue.TryWrite(100));
        Assert.True(queue.TryRead(out _));
        await waiting.WaitAsync(Wait);
        // Room for one more beside the admitted sender; the bound still holds.
        Assert.True(queue.TryWrite(9));
        Assert.False(queue.TryWrite(10));
        Assert.Equal(8, queue.Count);
        Assert.Equal([2, 3, 4, 5, 6, 7, 8, 9], ReadAll(queue));
    }

    [Fact]
    public async Task A_cancelled_wait_leaves_its_item_out_and_the_next_sender_takes_the_room()
    {
        var queue = new SendQueue<int>(2);
        Assert.True(queue.TryWrite(1));
        Assert.True(queue.TryWrite(2));
        using var cancel = new CancellationTokenSource();
        var cancelled = queue.WriteAsync(3, cancel.Token).AsTask();
        var next = queue.WriteAsync(4, CancellationToken.None).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Wait));
        Assert.True(queue.TryRead(out _));
        queue.EndBatch();
        await next.WaitAsync(Wait);
        Assert.Equal([2, 4], ReadAll(queue));
        // Cancelled before it waits: nothing queued.
        Assert.True(queue.WriteAsync(5, cancel.Token).AsTask().IsCanceled);
        Assert.Empty(ReadAll(queue));
    }

    [Fact]
    public async Task Completing_fails_waiting_and_later_senders_and_keeps_what_is_queued_for_the_reader()
    {
        var queue = new SendQueue<int>(1);
        Assert.True(queue.TryWrite(1));
        var waiting = queue.WriteAsync(2, CancellationToken.None).AsTask();
        Assert.True(queue.Complete());
        Assert.False(queue.Complete());
        await Assert.ThrowsAsync<ChannelClosedException>(() => waiting.WaitAsync(Wait));
        await Assert.ThrowsAsync<ChannelClosedException>(() => queue.WriteAsync(3, CancellationToken.None).AsTask());
        Assert.False(queue.TryWrite(3));
        Assert.False(queue.IsCompletedAndEmpty);
        Assert.Equal([1], ReadAll(queue));
        Assert.True(queue.IsCompletedAndEmpty);
    }

    [Fact]
    public async Task Concurrent_senders_lose_nothing_keep_their_own_order_and_never_exceed_the_capacity()
    {
        const int Capacity = 16, Senders = 4, PerSender = 20_000;
        var queue = new SendQueue<int>(Capacity);
        var senders = Enumerable.Range(0, Senders).Select(s => Task.Run(async () =>
        {
            for (int i = 0; i < PerSender; i++)
            {
                int item = s * PerSender + i;
                if (!queue.TryWrite(item)) await queue.WriteAsync(item, CancellationToken.None);
            }
        })).ToArray();
        var next = new int[Senders];
        int total = 0;
        var all = Task.WhenAll(senders);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (total < Senders * PerSender)
        {
            Assert.True(clock.Elapsed < Wait, $"{total} items read, the senders stopped");
            Assert.True(queue.Count <= Capacity);
            int inBatch = 0;
            while (inBatch < 5 && queue.TryRead(out int item))
            {
                int sender = item / PerSender;
                Assert.Equal(next[sender], item % PerSender);
                next[sender]++;
                total++;
                inBatch++;
            }
            queue.EndBatch();
            if (inBatch == 0)
            {
                if (all.IsFaulted) await all;
                await Task.Yield();
            }
        }
        await all.WaitAsync(Wait);
        Assert.All(next, n => Assert.Equal(PerSender, n));
        Assert.False(queue.HasItems());
        Assert.Equal(0, queue.Count);
    }
}
