using System.Buffers;

namespace P2PNet.Fuzz;

/// <summary>Splits bytes into a multi-segment sequence, as a PipeReader hands them out.</summary>
internal sealed class Segments : ReadOnlySequenceSegment<byte>
{
    private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Split(byte[] data, int segmentLength)
    {
        if (data.Length == 0) return ReadOnlySequence<byte>.Empty;
        var first = new Segments(data.AsMemory(0, Math.Min(segmentLength, data.Length)), 0);
        Segments last = first;
        for (int offset = last.Memory.Length; offset < data.Length; offset += last.Memory.Length)
        {
            var next = new Segments(data.AsMemory(offset, Math.Min(segmentLength, data.Length - offset)), offset);
            last.Next = next;
            last = next;
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
