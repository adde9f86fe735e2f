using System.Buffers;
using Microsoft.Win32.SafeHandles;
using P2PNet.Wire;

namespace P2PNet.Protocols.Transfer;

/// <summary>
/// <c>/p2pnet/transfer/1.0.0</c> as pure I/O, one stream per request. The requester writes one length-prefixed
/// request (<see cref="EncodeRequest"/>) and half-closes; the responder answers one <see cref="TransferStatus"/>
/// byte and, when Ok, the top node, then walks the tree depth-first from the top: at each inner node on the way
/// to the range it sends both children's hashes, at each leaf in the range the group's bytes. The receiver knows
/// the shape from the file size, checks every pair against its parent before trusting it and every 16 KiB group
/// against its leaf before handing it on, so it holds one path of hashes and one batch of groups, never the range.
/// </summary>
public static class TransferProtocol
{
    /// <summary>The protocol id.</summary>
    public const string Id = "/p2pnet/transfer/1.0.0";

    /// <summary>Longest request frame accepted.</summary>
    public const int MaxRequestSize = 128;

    /// <summary>Most groups one request may ask for (64 MiB).</summary>
    public const long MaxGroupsPerRequest = 4096;

    /// <summary>Length of a ticket secret.</summary>
    public const int SecretSize = 16;

    private const byte Version = 1;

    /// <summary>Encodes a request body (version, CID, secret, first group, group count).</summary>
    public static byte[] EncodeRequest(TransferRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Secret.Length is not (0 or SecretSize)) throw new ArgumentException($"a secret has {SecretSize} bytes", nameof(request));
        byte[] cid = request.Id.ToBytes();
        var body = new byte[1 + 1 + cid.Length + 1 + request.Secret.Length + 2 * 10];
        int o = 0;
        body[o++] = Version;
        body[o++] = (byte)cid.Length;
        cid.CopyTo(body, o);
        o += cid.Length;
        body[o++] = (byte)request.Secret.Length;
        request.Secret.Span.CopyTo(body.AsSpan(o));
        o += request.Secret.Length;
        o += Varint.Write(body.AsSpan(o), (ulong)request.FirstGroup);
        o += Varint.Write(body.AsSpan(o), (ulong)request.GroupCount);
        return body[..o];
    }

    /// <summary>Decodes a request body; throws <see cref="TransferException"/> (Malformed) on anything else.</summary>
    public static TransferRequest DecodeRequest(ReadOnlySpan<byte> body)
    {
        if (body.Length > MaxRequestSize) throw Malformed("the request is too long");
        if (body.Length < 2 || body[0] != Version) throw Malformed("unknown request version");
        int cidLength = body[1];
        body = body[2..];
        if (cidLength > body.Length || !ContentId.TryFromBytes(body[..cidLength], out var id)) throw Malformed("the request names no P2PNet content id");
        body = body[cidLength..];
        if (body.Length < 1 || body[0] is not (0 or SecretSize) || body.Length < 1 + body[0]) throw Malformed("the request's secret has a wrong length");
        byte[] secret = body.Slice(1, body[0]).ToArray();
        body = body[(1 + secret.Length)..];
        if (!TransferVarint.TryRead(body, out ulong first, out int n)) throw Malformed("the request has no first group");
        body = body[n..];
        if (!TransferVarint.TryRead(body, out ulong count, out n) || n != body.Length) throw Malformed("the request has no group count, or trailing bytes");
        if (first > long.MaxValue / MerkleTree.GroupSize || count == 0 || count > MaxGroupsPerRequest) throw new TransferException(TransferError.BadRange, $"bad range: {count} groups from {first}");
        return new TransferRequest(id, secret, (long)first, (long)count);
    }

    /// <summary>Writes a request frame and half-closing is left to the caller.</summary>
    public static ValueTask WriteRequestAsync(Stream stream, TransferRequest request, CancellationToken cancellationToken = default) =>
        LengthPrefixed.WriteAsync(stream, EncodeRequest(request), cancellationToken);

    /// <summary>Reads a request frame (at most <see cref="MaxRequestSize"/> bytes).</summary>
    public static async ValueTask<TransferRequest> ReadRequestAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        byte[] body;
        try
        {
            body = await LengthPrefixed.ReadAsync(stream, MaxRequestSize, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new TransferException(TransferError.Malformed, $"bad request frame: {ex.Message}", ex);
        }
        return DecodeRequest(body);
    }

    /// <summary>Bytes the responder gathers (proof nodes and groups) before one write to the stream.</summary>
    internal const int SendChunkSize = 256 * 1024;

    /// <summary>
    /// Answers Ok and streams groups [<paramref name="firstGroup"/>, +<paramref name="groupCount"/>) of the file with
    /// their proof nodes. The caller has checked the range against <see cref="TreeFile.LevelCounts"/>.
    /// </summary>
    public static async Task SendRangeAsync(Stream stream, TreeFile tree, SafeFileHandle data, long firstGroup, long groupCount, CancellationToken cancellationToken = default) =>
        await SendRangeAsync(stream, tree, data, firstGroup, groupCount, null, null, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// The responder's walk: proof nodes come from memory (<see cref="TreeFile.ReadProofsAsync"/>: one read per
    /// uncached level for the whole request), groups are gathered into a 256 KiB chunk with the nodes between them
    /// and read from the file with one vectored read straight into their places, then the chunk goes out in one write.
    /// <paramref name="onChunk"/> runs before each write (the caller renews its idle timeout there).
    /// </summary>
    internal static async Task SendRangeAsync(Stream stream, TreeFile tree, SafeFileHandle data, long firstGroup, long groupCount, ByteRateLimiter? limiter,
        Action? onChunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(data);
        var walk = new Walk(tree.Size, firstGroup, groupCount);
        using var proofs = await tree.ReadProofsAsync(firstGroup, groupCount, cancellationToken).ConfigureAwait(false);
        // A chunk, plus one group and the nodes on a path that may precede it.
        byte[] output = ArrayPool<byte>.Shared.Rent(SendChunkSize + MerkleTree.GroupSize + (walk.Top + 2) * 2 * MerkleTree.HashSize);
        var groups = new List<Memory<byte>>(SendChunkSize / MerkleTree.GroupSize + 1);
        long groupsOffset = 0, groupsBytes = 0;
        int position = 0;
        try
        {
            output[position++] = (byte)TransferStatus.Ok;
            proofs.Top.CopyTo(output.AsSpan(position));
            position += MerkleTree.HashSize;
            await SendNodeAsync(walk.Top, 0).ConfigureAwait(false);
            await FlushAsync().ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(output);
        }

        async ValueTask SendNodeAsync(int level, long index)
        {
            if (level == 0)
            {
                int length = MerkleTree.GroupLength(tree.Size, index);
                if (groups.Count == 0) groupsOffset = index * MerkleTree.GroupSize;
                groups.Add(output.AsMemory(position, length));
                groupsBytes += length;
                position += length;
                if (position >= SendChunkSize) await FlushAsync().ConfigureAwait(false);
                return;
            }
            if (!walk.HasRight(level, index))
            {
                await SendNodeAsync(level - 1, 2 * index).ConfigureAwait(false);
                return;
            }
            proofs.Pair(level - 1, 2 * index).CopyTo(output.AsSpan(position));
            position += 2 * MerkleTree.HashSize;
            if (walk.Intersects(level - 1, 2 * index)) await SendNodeAsync(level - 1, 2 * index).ConfigureAwait(false);
            if (walk.Intersects(level - 1, 2 * index + 1)) await SendNodeAsync(level - 1, 2 * index + 1).ConfigureAwait(false);
        }

        async ValueTask FlushAsync()
        {
            if (position == 0) return;
            if (groups.Count > 0)
            {
                ReadGroups(data, groups, groupsOffset, groupsBytes);
                groups.Clear();
                groupsBytes = 0;
            }
            onChunk?.Invoke();
            if (limiter is not null) await limiter.WaitAsync(position, cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(output.AsMemory(0, position), cancellationToken).ConfigureAwait(false);
            position = 0;
        }
    }

    // Consecutive groups of the file into their (scattered) places in the chunk: one vectored read, and a slow path for
    // a short one. Synchronous on purpose: an async file read on Unix is a blocking read on another pool thread, so it
    // costs a hand-over and a wake-up per chunk, and the file is usually in the page cache (it was hashed on share).
    private static void ReadGroups(SafeFileHandle data, List<Memory<byte>> groups, long offset, long total)
    {
        long read = RandomAccess.Read(data, groups, offset);
        if (read == total) return;
        long skip = read;
        offset += read;
        foreach (var group in groups)
        {
            if (skip >= group.Length)
            {
                skip -= group.Length;
                continue;
            }
            var rest = group[(int)skip..];
            skip = 0;
            while (!rest.IsEmpty)
            {
                int more = RandomAccess.Read(data, rest.Span, offset);
                if (more == 0) throw new IOException("the shared file shrank; share it again");
                rest = rest[more..];
                offset += more;
            }
        }
    }

    /// <summary>
    /// Reads an answer to a request for groups [<paramref name="firstGroup"/>, +<paramref name="groupCount"/>) of the
    /// file <paramref name="id"/> of <paramref name="size"/> bytes, verifying as it goes; <paramref name="onGroup"/>
    /// gets each group (index, bytes) only after it verified, and must finish with the bytes before it returns.
    /// Throws <see cref="TransferException"/>: the status as an error, Corrupt on the first bad hash, Truncated when
    /// the stream ends early.
    /// </summary>
    public static Task ReceiveRangeAsync(Stream stream, ContentId id, long size, long firstGroup, long groupCount,
        Func<long, ReadOnlyMemory<byte>, ValueTask> onGroup, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(onGroup);
        return ReceiveRangeAsync(stream, id, size, firstGroup, groupCount, 1, (group, _, bytes) => onGroup(group, bytes), cancellationToken);
    }

    /// <summary>
    /// The receiver's walk. Each group is read from the stream straight into its place in a batch of up to
    /// <paramref name="batchGroups"/> consecutive groups and verified there; <paramref name="onGroups"/> gets each
    /// full batch (first group, count, contiguous bytes), so the caller writes the file in large sequential writes.
    /// When the stream fails (bad hash, early end, reset, timeout) the groups of the batch that did verify are still
    /// handed on before the error surfaces, so nothing verified is lost.
    /// </summary>
    internal static async Task ReceiveRangeAsync(Stream stream, ContentId id, long size, long firstGroup, long groupCount, int batchGroups,
        Func<long, int, ReadOnlyMemory<byte>, ValueTask> onGroups, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(onGroups);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchGroups, 1);
        var walk = new Walk(size, firstGroup, groupCount);
        byte[] batch = ArrayPool<byte>.Shared.Rent(batchGroups * MerkleTree.GroupSize);
        long batchFirst = 0;
        int batchCount = 0, batchBytes = 0;
        bool delivering = false;
        // One expected hash per level on the current path: the receiver's whole state besides the batch.
        byte[] path = new byte[(walk.Top + 1) * MerkleTree.HashSize * 2];
        try
        {
            await FillAsync(path.AsMemory(0, 1)).ConfigureAwait(false);
            var status = (TransferStatus)path[0];
            if (status != TransferStatus.Ok)
            {
                throw status switch
                {
                    TransferStatus.NotFound => new TransferException(TransferError.NotFound, "the provider does not share this content"),
                    TransferStatus.Denied => new TransferException(TransferError.Denied, "the provider refused access"),
                    TransferStatus.BadRange => new TransferException(TransferError.BadRange, "the provider refused the range"),
                    TransferStatus.Busy => new TransferException(TransferError.Busy, "the provider is busy"),
                    _ => new TransferException(TransferError.Malformed, $"unknown status {(byte)status}"),
                };
            }
            var top = path.AsMemory(walk.Top * 2 * MerkleTree.HashSize, MerkleTree.HashSize);
            await FillAsync(top).ConfigureAwait(false);
            if (!RootMatches(size, top.Span, id)) throw new TransferException(TransferError.Corrupt, "the top node does not match the content id");
            await ReceiveNodeAsync(walk.Top, 0, top).ConfigureAwait(false);
            await DeliverAsync().ConfigureAwait(false);
        }
        catch when (batchCount > 0 && !delivering)
        {
            await DeliverAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(batch);
        }

        async ValueTask ReceiveNodeAsync(int level, long index, ReadOnlyMemory<byte> expected)
        {
            if (level == 0)
            {
                int length = MerkleTree.GroupLength(size, index);
                var slot = batch.AsMemory(batchBytes, length);
                await FillAsync(slot).ConfigureAwait(false);
                if (!LeafMatches(slot.Span, expected.Span))
                    throw new TransferException(TransferError.Corrupt, $"group {index} does not match its leaf hash");
                if (batchCount++ == 0) batchFirst = index;
                batchBytes += length;
                if (batchCount == batchGroups) await DeliverAsync().ConfigureAwait(false);
                return;
            }
            if (!walk.HasRight(level, index))
            {
                await ReceiveNodeAsync(level - 1, 2 * index, expected).ConfigureAwait(false);
                return;
            }
            var pair = path.AsMemory((level - 1) * 2 * MerkleTree.HashSize, 2 * MerkleTree.HashSize);
            await FillAsync(pair).ConfigureAwait(false);
            if (!NodeMatches(pair.Span, expected.Span))
                throw new TransferException(TransferError.Corrupt, $"proof node at level {level} index {index} does not match its parent");
            if (walk.Intersects(level - 1, 2 * index)) await ReceiveNodeAsync(level - 1, 2 * index, pair[..MerkleTree.HashSize]).ConfigureAwait(false);
            if (walk.Intersects(level - 1, 2 * index + 1)) await ReceiveNodeAsync(level - 1, 2 * index + 1, pair[MerkleTree.HashSize..]).ConfigureAwait(false);
        }

        async ValueTask DeliverAsync()
        {
            if (batchCount == 0) return;
            delivering = true;
            await onGroups(batchFirst, batchCount, batch.AsMemory(0, batchBytes)).ConfigureAwait(false);
            delivering = false;
            batchCount = 0;
            batchBytes = 0;
        }

        async ValueTask FillAsync(Memory<byte> into)
        {
            if (into.Length == 0) return;
            int read = await stream.ReadAtLeastAsync(into, into.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (read < into.Length) throw new TransferException(TransferError.Truncated, "the provider's stream ended early");
        }
    }

    private static bool RootMatches(long size, ReadOnlySpan<byte> top, ContentId id)
    {
        Span<byte> digest = stackalloc byte[MerkleTree.HashSize];
        MerkleTree.HashRoot(size, top, digest);
        return digest.SequenceEqual(id.Digest);
    }

    private static bool LeafMatches(ReadOnlySpan<byte> group, ReadOnlySpan<byte> expected)
    {
        Span<byte> hash = stackalloc byte[MerkleTree.HashSize];
        MerkleTree.HashLeaf(group, hash);
        return hash.SequenceEqual(expected);
    }

    private static bool NodeMatches(ReadOnlySpan<byte> pair, ReadOnlySpan<byte> expected)
    {
        Span<byte> hash = stackalloc byte[MerkleTree.HashSize];
        MerkleTree.HashNode(pair[..MerkleTree.HashSize], pair[MerkleTree.HashSize..], hash);
        return hash.SequenceEqual(expected);
    }

    private static TransferException Malformed(string message) => new(TransferError.Malformed, message);

    /// <summary>The shape of a walk: which nodes exist and which cover the requested range.</summary>
    private readonly struct Walk
    {
        private readonly long[] _counts;
        private readonly long _first;
        private readonly long _end;

        public Walk(long size, long first, long count)
        {
            _counts = MerkleTree.LevelCounts(size);
            _first = first;
            _end = first + count;
        }

        public int Top => _counts.Length - 1;

        public bool HasRight(int level, long index) => 2 * index + 1 < _counts[level - 1];

        public bool Intersects(int level, long index)
        {
            long lo = index << level;
            long hi = Math.Min((index + 1) << level, _counts[0]);
            return lo < _end && _first < hi;
        }
    }
}
