using System.Buffers;
using System.IO.Pipelines;
using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Tests.Muxers.Yamux;
using P2PNet.Peers;

namespace P2PNet.Tests.Peers;

/// <summary>An idle channel holds no read buffer: its pipe waits for data with a 1-byte read and rents only when bytes flow.</summary>
public sealed class IdleMemoryTests
{
    /// <summary>Records the size of every read the channel's pipe makes on the stream.</summary>
    private sealed class RecordingStream(Stream inner) : Stream
    {
        public List<int> ReadSizes { get; } = [];
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            lock (ReadSizes) ReadSizes.Add(buffer.Length);
            return inner.ReadAsync(buffer, cancellationToken);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task A_drained_channel_pipe_waits_for_data_with_a_one_byte_read_and_still_reads_everything()
    {
        var wire = new Pipe();
        var recording = new RecordingStream(wire.Reader.AsStream());
        var reader = PeerChannel.CreateReader(recording);
        var payload = new byte[100_000];
        Random.Shared.NextBytes(payload);

        var write = wire.Writer.WriteAsync(payload).AsTask(); // more than the pipe's pause threshold: completes as we read
        long total = 0;
        var received = new List<byte>();
        while (total < payload.Length)
        {
            var result = await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            foreach (var segment in result.Buffer) received.AddRange(segment.ToArray());
            total += result.Buffer.Length;
            reader.AdvanceTo(result.Buffer.End);
        }
        Assert.Equal(payload, received);
        await write.WaitAsync(TimeSpan.FromSeconds(10));

        // Drained: the next read must wait without a pipe buffer, on the 1-byte peek only.
        lock (recording.ReadSizes) recording.ReadSizes.Clear();
        var pending = reader.ReadAsync().AsTask();
        Assert.False(pending.IsCompleted);
        lock (recording.ReadSizes) Assert.Equal([1], recording.ReadSizes);

        await wire.Writer.WriteAsync(new byte[] { 7, 8, 9 }).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var next = await pending.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(7, next.Buffer.FirstSpan[0]);
        reader.AdvanceTo(next.Buffer.End);
        await reader.CompleteAsync();
    }

    [Fact]
    public async Task A_channel_whose_peer_is_ahead_reads_in_growing_segments_and_starts_small_again_after_an_idle_pause()
    {
        var wire = new Pipe(new PipeOptions(pauseWriterThreshold: 0)); // the whole burst waits in the wire before we read
        var recording = new WaitingStream(wire.Reader);
        var clock = new ManualClock();
        var pool = new ReadSegmentPool(clock);
        var reader = PeerChannel.CreateReader(recording, pool);

        // A burst larger than any segment, all of it already there: each read fills its buffer, so segments double.
        var burst = new byte[1024 * 1024];
        Random.Shared.NextBytes(burst);
        await wire.Writer.WriteAsync(burst);
        long total = await DrainAsync(reader, burst.Length);
        Assert.Equal(burst.Length, total);
        Assert.Equal(ReadSegmentPool.MaxSegment, pool.SegmentSize);
        lock (recording.ReadSizes) Assert.Contains(recording.ReadSizes, size => size > ReadSegmentPool.MinSegment);

        // An idle wait longer than the shrink time resets the size (the clock moves while the read waits).
        var pending = reader.ReadAsync().AsTask();
        Assert.False(pending.IsCompleted);
        clock.Advance(ReadSegmentPool.ShrinkAfter + TimeSpan.FromMilliseconds(1)); // the channel idles past its shrink time
        await wire.Writer.WriteAsync(new byte[] { 1, 2, 3 });
        var next = await pending.WaitAsync(TimeSpan.FromSeconds(10));
        long got = next.Buffer.Length;
        reader.AdvanceTo(next.Buffer.End);
        if (got < 3) await DrainAsync(reader, 3 - got);
        Assert.Equal(ReadSegmentPool.MinSegment, pool.SegmentSize);

        // A shorter wait does not: grown again by a burst, it stays grown.
        await wire.Writer.WriteAsync(burst);
        await DrainAsync(reader, burst.Length);
        Assert.Equal(ReadSegmentPool.MaxSegment, pool.SegmentSize);
        var quick = reader.ReadAsync().AsTask();
        Assert.False(quick.IsCompleted);
        clock.Advance(ReadSegmentPool.ShrinkAfter - TimeSpan.FromMilliseconds(1));
        await wire.Writer.WriteAsync(new byte[] { 4 });
        var answered = await quick.WaitAsync(TimeSpan.FromSeconds(10));
        reader.AdvanceTo(answered.Buffer.End);
        Assert.Equal(ReadSegmentPool.MaxSegment, pool.SegmentSize);
        await reader.CompleteAsync();
    }

    [Fact]
    public async Task Over_yamux_a_drained_channel_pipe_waits_holding_no_segment_and_then_reads_all_that_arrived_at_once()
    {
        await using var pair = await YamuxTestPair.CreateAsync();
        var accept = pair.Server.AcceptStreamAsync().AsTask();
        await using var client = await pair.Client.OpenStreamAsync();
        await client.WriteAsync(new byte[] { 1 });
        await using var server = (YamuxStream)(await accept.WaitAsync(YamuxTestPair.Timeout))!;
        var pool = new ReadSegmentPool();
        var reader = PeerChannel.CreateReader(server, pool);
        var first = await reader.ReadAsync().AsTask().WaitAsync(YamuxTestPair.Timeout);
        reader.AdvanceTo(first.Buffer.End);

        // Drained: the pipe waits on the stream's own zero-byte read, with no segment rented.
        var pending = reader.ReadAsync().AsTask();
        Assert.False(pending.IsCompleted);
        Assert.Equal(0, pool.Outstanding);

        // What arrives meanwhile comes in one read (the 1-byte peek of other streams would hand out the first byte alone).
        await client.WriteAsync(new byte[] { 2, 3, 4, 5 });
        var next = await pending.WaitAsync(YamuxTestPair.Timeout);
        Assert.Equal(new byte[] { 2, 3, 4, 5 }, next.Buffer.ToArray());
        reader.AdvanceTo(next.Buffer.End);
        await reader.CompleteAsync();
        Assert.Equal(0, pool.Outstanding);
    }

    /// <summary>
    /// A muxed stream over a pipe whose zero-byte reads wait for data without taking any, as yamux streams do (the path
    /// channels take); it records the size of every read.
    /// </summary>
    private sealed class WaitingStream(PipeReader wire) : MuxedStream
    {
        public List<int> ReadSizes { get; } = [];
        public override bool CanRead => true;
        public override bool CanWrite => false;
        internal override bool WaitsOnZeroByteRead => true;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            lock (ReadSizes) ReadSizes.Add(buffer.Length);
            var result = await wire.ReadAsync(cancellationToken);
            int take = (int)Math.Min(buffer.Length, result.Buffer.Length);
            result.Buffer.Slice(0, take).CopyTo(buffer.Span);
            wire.AdvanceTo(result.Buffer.GetPosition(take));
            return take;
        }

        public override ValueTask CloseWriteAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
        public override void Reset() { }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A clock that moves only when told to.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => Interlocked.Read(ref _ticks);
        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    /// <summary>Reads <paramref name="expected"/> bytes as the channel's frame loop does: whole 4 KiB "frames", the rest examined and left.</summary>
    private static async Task<long> DrainAsync(PipeReader reader, long expected)
    {
        long total = 0;
        while (total < expected)
        {
            var result = await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            long take = Math.Min(expected - total, result.Buffer.Length / 4096 * 4096);
            if (expected - total < 4096 && result.Buffer.Length >= expected - total) take = expected - total;
            total += take;
            reader.AdvanceTo(result.Buffer.GetPosition(take), result.Buffer.End);
        }
        return total;
    }
}
