using P2PNet.Peers;
using P2PNet.Peers.Packets;

namespace P2PNet.Tests.Peers;

/// <summary>The unacknowledged ring: staging, publishing, trimming, wrapping, growing and shrinking keep order, counts and sequence numbers.</summary>
public sealed class UnackedPacketsTests
{
    private static PureMessagePacket Packet(int n) => new() { Message = n.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    private static string[] Messages(UnackedPackets.Entry[] entries) => [.. entries.Select(e => ((PureMessagePacket)e.Packet).Message)];

    private static void Trim(UnackedPackets ring, long ack)
    {
        List<TaskCompletionSource>? done = null;
        ring.Trim(ack, ref done);
    }

    [Fact]
    public void Staged_packets_count_only_once_published_and_take_the_next_sequence_numbers()
    {
        var ring = new UnackedPackets();
        ring.Stage(Packet(1), 10, null);
        ring.Stage(Packet(2), 20, null);
        Assert.Equal(0, ring.Count);
        Assert.Empty(ring.Snapshot());
        ring.Publish();
        Assert.Equal(2, ring.Count);
        Assert.Equal(30, ring.Bytes);
        Assert.Equal((1L, 2), ring.Oldest());
        // An acknowledgement of a packet not yet published (so not yet written) is a protocol violation.
        Assert.Throws<PacketFormatException>(() => Trim(ring, 3));
        Trim(ring, 1);
        Assert.Equal((2L, 1), ring.Oldest());
        Assert.Equal(20, ring.Bytes);
        Trim(ring, 1); // an older acknowledgement changes nothing
        Assert.Equal(1, ring.Count);
        Trim(ring, 2);
        Assert.Equal(((long?)null, 0), ring.Oldest());
        Assert.Equal(0, ring.Bytes);
    }

    [Fact]
    public void Order_survives_wrapping_and_growing_while_entries_wrap()
    {
        var ring = new UnackedPackets();
        int next = 1;
        long acked = 0;
        var expected = new Queue<int>();
        // Batches of varying size trimmed by varying amounts walk the head and tail around the array and force growth
        // while the published entries wrap past its end.
        var random = new Random(7);
        for (int round = 0; round < 400; round++)
        {
            int batch = random.Next(1, 40);
            for (int i = 0; i < batch; i++)
            {
                ring.Stage(Packet(next), 1, null);
                expected.Enqueue(next++);
            }
            ring.Publish();
            Assert.Equal(expected.Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)), Messages(ring.Snapshot()));
            int drop = random.Next(0, expected.Count + 1);
            if (round % 50 == 49) drop = 0; // let it grow now and then
            acked += drop;
            Trim(ring, acked);
            for (int i = 0; i < drop; i++) expected.Dequeue();
            Assert.Equal(expected.Count, ring.Count);
            Assert.Equal(expected.Count, ring.Bytes);
            Assert.Equal(expected.Count == 0 ? null : acked + 1, ring.Oldest().Oldest);
        }
    }

    [Fact]
    public void Acknowledged_waiters_complete_and_TakeAll_leaves_staged_packets_in_place()
    {
        var ring = new UnackedPackets();
        var first = new TaskCompletionSource();
        var second = new TaskCompletionSource();
        ring.Stage(Packet(1), 1, first);
        ring.Stage(Packet(2), 1, null);
        ring.Stage(Packet(3), 1, second);
        ring.Publish();
        List<TaskCompletionSource>? done = null;
        ring.Trim(2, ref done);
        Assert.Equal([first], done!);

        ring.Stage(Packet(4), 1, null);
        var taken = ring.TakeAll();
        Assert.Equal(["3"], Messages(taken));
        Assert.Same(second, taken[0].Acked);
        Assert.Equal(0, ring.Count);
        // A new session numbers from 1 again; the packet staged meanwhile is published as its first.
        ring.RestartSequence();
        ring.Publish();
        Assert.Equal((1L, 1), ring.Oldest());
        Assert.Equal(["4"], Messages(ring.Snapshot()));
    }

    [Fact]
    public void An_empty_ring_gives_back_a_burst_sized_array_and_keeps_a_small_one()
    {
        var ring = new UnackedPackets();
        for (int i = 1; i <= 3000; i++) ring.Stage(Packet(i), 1, null);
        ring.Publish();
        Assert.True(ring.Capacity >= 3000);
        ring.ShrinkIfEmpty();
        Assert.True(ring.Capacity >= 3000); // not empty yet
        Trim(ring, 3000);
        ring.ShrinkIfEmpty();
        Assert.Equal(0, ring.Capacity);

        for (int i = 1; i <= 10; i++) ring.Stage(Packet(i), 1, null);
        ring.Publish();
        Trim(ring, 3010);
        int small = ring.Capacity;
        Assert.InRange(small, 10, UnackedPackets.IdleCapacity);
        ring.ShrinkIfEmpty();
        Assert.Equal(small, ring.Capacity);
    }
}
