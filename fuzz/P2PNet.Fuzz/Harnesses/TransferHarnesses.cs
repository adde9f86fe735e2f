using System.Text;
using P2PNet.Protocols.Transfer;

namespace P2PNet.Fuzz.Harnesses;

/// <summary>
/// The transfer protocol's messages (the request codec; the receiver's verification of a response stream) and the
/// ticket text. Only <see cref="TransferException"/> may escape the transfer parsers; ticket parsing throws nothing.
/// </summary>
internal static class TransferHarnesses
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    // The receiver holds one group and one path of hashes whatever the input size: far below this.
    private const long MaxAllocatedBytes = 512 * 1024;

    /// <summary>The fixed files a response is verified against: empty, one short group, and four full groups plus a short one.</summary>
    internal static IReadOnlyList<byte[]> Files { get; } = [[], Data(1000), Data(4 * MerkleTree.GroupSize + 1000)];

    private static readonly ContentId[] Ids = [.. Files.Select(f => MerkleTree.ComputeId(f))];

    /// <summary>
    /// byte 0 bit 0 = 0: a request; bit 1 picks <see cref="TransferProtocol.DecodeRequest"/> on the rest (0) or
    /// <see cref="TransferProtocol.ReadRequestAsync"/> on the rest as a length-prefixed frame (1).
    /// bit 0 = 1: a response; (byte 0 &gt;&gt; 1) % 3 picks the file, byte 1 the first group, byte 2 the count, byte 3
    /// the read size; the rest is what the provider sends.
    /// </summary>
    public static async Task TransferAsync(byte[] input)
    {
        if (input.Length == 0) return;
        try
        {
            if ((input[0] & 1) == 0) await RequestAsync(input).ConfigureAwait(false);
            else await ResponseAsync(input).ConfigureAwait(false);
        }
        catch (TransferException)
        {
        }
    }

    private static async Task RequestAsync(byte[] input)
    {
        TransferRequest request;
        if ((input[0] & 2) == 0)
        {
            request = TransferProtocol.DecodeRequest(input.AsSpan(1));
        }
        else
        {
            using var stream = new FuzzStream(input[1..], maxRead: 1 + (input[0] >> 2));
            var read = TransferProtocol.ReadRequestAsync(stream).AsTask();
            await FuzzFailureException.WithinAsync(read, Limit, "transfer request").ConfigureAwait(false);
            request = await read.ConfigureAwait(false);
        }
        // What the responder accepted must encode (the requester's side) and decode to the same request.
        var again = TransferProtocol.DecodeRequest(TransferProtocol.EncodeRequest(request));
        FuzzFailureException.Check(again.Id.Equals(request.Id) && again.Secret.Span.SequenceEqual(request.Secret.Span)
            && again.FirstGroup == request.FirstGroup && again.GroupCount == request.GroupCount, "transfer request round trip differs");
    }

    private static async Task ResponseAsync(byte[] input)
    {
        if (input.Length < 4) return;
        int file = (input[0] >> 1) % Files.Count;
        byte[] data = Files[file];
        long groups = MerkleTree.GroupCount(data.Length);
        long first = input[1] % groups;
        long count = 1 + input[2] % (groups - first);
        long next = first;
        using var stream = new FuzzStream(input[4..], maxRead: 1 + input[3] * 64);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var receive = TransferProtocol.ReceiveRangeAsync(stream, Ids[file], data.Length, first, count, (index, bytes) =>
        {
            // A group handed on has verified: it must be the next one of the range and the file's own bytes.
            FuzzFailureException.Check(index == next, $"group {index} handed on, {next} expected");
            FuzzFailureException.Check(bytes.Span.SequenceEqual(data.AsSpan((int)(index * MerkleTree.GroupSize), MerkleTree.GroupLength(data.Length, index))),
                $"group {index} verified with other bytes than the file's");
            next++;
            return ValueTask.CompletedTask;
        });
        // The fuzz stream never blocks, so a receiver that completes runs on this thread: its allocations are counted here.
        if (receive.IsCompleted)
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            FuzzFailureException.Check(allocated <= MaxAllocatedBytes, $"the receiver allocated {allocated} bytes for {input.Length} input bytes");
        }
        await FuzzFailureException.WithinAsync(receive, Limit, "transfer response").ConfigureAwait(false);
        FuzzFailureException.Check(next == first + count, $"the range ended after {next - first} of {count} groups without an error");
    }

    /// <summary>
    /// <see cref="TransferTicket.TryParse"/> on the input as UTF-8 text; a ticket it accepts must print to a text
    /// that parses to the same ticket and prints the same again.
    /// </summary>
    public static Task TicketAsync(byte[] input)
    {
        string text = Encoding.UTF8.GetString(input);
        if (!TransferTicket.TryParse(text, out var ticket, out string? error))
        {
            FuzzFailureException.Check(!string.IsNullOrEmpty(error), "a refused ticket gave no reason");
            return Task.CompletedTask;
        }
        string printed = ticket.ToString();
        if (!TransferTicket.TryParse(printed, out var again, out error)) throw new FuzzFailureException($"a printed ticket does not parse: {error}");
        FuzzFailureException.Check(again.Id.Equals(ticket.Id) && again.Size == ticket.Size && again.Name == ticket.Name
            && again.Secret.Span.SequenceEqual(ticket.Secret.Span) && again.Addresses.SequenceEqual(ticket.Addresses)
            && again.ToString() == printed, "ticket round trip differs");
        return Task.CompletedTask;
    }

    /// <summary>Fixed, non-repeating file bytes.</summary>
    private static byte[] Data(int length)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++) data[i] = (byte)((i * 31) ^ (i >> 8) ^ (i >> 16));
        return data;
    }

    /// <summary>
    /// The provider's answer to groups [first, +count) of <paramref name="data"/>, built from the tree definition
    /// (top node, then at each inner node on the way both children, at each leaf in the range its bytes): the seed
    /// writer's encoder, independent of <see cref="TransferProtocol.SendRangeAsync(Stream, TreeFile, Microsoft.Win32.SafeHandles.SafeFileHandle, long, long, CancellationToken)"/>.
    /// </summary>
    internal static byte[] Response(byte[] data, long first, long count)
    {
        var levels = new List<byte[][]>();
        long n = MerkleTree.GroupCount(data.Length);
        var leaves = new byte[n][];
        for (long i = 0; i < n; i++)
        {
            leaves[i] = new byte[MerkleTree.HashSize];
            MerkleTree.HashLeaf(data.AsSpan((int)(i * MerkleTree.GroupSize), MerkleTree.GroupLength(data.Length, i)), leaves[i]);
        }
        levels.Add(leaves);
        while (levels[^1].Length > 1)
        {
            var below = levels[^1];
            var up = new byte[(below.Length + 1) / 2][];
            for (int i = 0; i < up.Length; i++)
            {
                if (2 * i + 1 < below.Length)
                {
                    up[i] = new byte[MerkleTree.HashSize];
                    MerkleTree.HashNode(below[2 * i], below[2 * i + 1], up[i]);
                }
                else
                {
                    up[i] = below[2 * i];
                }
            }
            levels.Add(up);
        }
        var output = new List<byte> { (byte)TransferStatus.Ok };
        output.AddRange(levels[^1][0]);
        void Node(int level, long index)
        {
            if (level == 0)
            {
                output.AddRange(data.AsSpan((int)(index * MerkleTree.GroupSize), MerkleTree.GroupLength(data.Length, index)).ToArray());
                return;
            }
            long left = 2 * index, right = left + 1;
            if (right >= levels[level - 1].Length)
            {
                Node(level - 1, left);
                return;
            }
            output.AddRange(levels[level - 1][left]);
            output.AddRange(levels[level - 1][right]);
            if (Covers(level - 1, left)) Node(level - 1, left);
            if (Covers(level - 1, right)) Node(level - 1, right);
        }
        bool Covers(int level, long index) => (index << level) < first + count && first < Math.Min((index + 1) << level, n);
        Node(levels.Count - 1, 0);
        return [.. output];
    }
}
