using System.Buffers;

namespace P2PNet.Tests.Peers.Packets;

/// <summary>Builds multi-segment <see cref="ReadOnlySequence{T}"/>s, as a PipeReader hands them out.</summary>
internal sealed class Segmented : ReadOnlySequenceSegment<byte>
{
    private Segmented(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    /// <summary>Splits <paramref name="data"/> into segments of at most <paramref name="segmentLength"/> bytes.</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, int segmentLength)
    {
        if (data.Length == 0) return ReadOnlySequence<byte>.Empty;
        var first = new Segmented(data.AsMemory(0, Math.Min(segmentLength, data.Length)), 0);
        Segmented last = first;
        for (int offset = last.Memory.Length; offset < data.Length; offset += last.Memory.Length)
        {
            var next = new Segmented(data.AsMemory(offset, Math.Min(segmentLength, data.Length - offset)), offset);
            last.Next = next;
            last = next;
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
