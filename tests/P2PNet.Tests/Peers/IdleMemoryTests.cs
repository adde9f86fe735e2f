using System.IO.Pipelines;
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
}
