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
/// against its leaf before handing it on, so it holds one path of hashes and one group, never the range.
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

    /// <summary>
    /// Answers Ok and streams groups [<paramref name="firstGroup"/>, +<paramref name="groupCount"/>) of the file with
    /// their proof nodes. The caller has checked the range against <see cref="TreeFile.LevelCounts"/>.
    /// </summary>
    public static async Task SendRangeAsync(Stream stream, TreeFile tree, SafeFileHandle data, long firstGroup, long groupCount, CancellationToken cancellationToken = default) =>
        await SendRangeAsync(stream, tree, data, firstGroup, groupCount, null, null, cancellationToken).ConfigureAwait(false);

    internal static async Task SendRangeAsync(Stream stream, TreeFile tree, SafeFileHandle data, long firstGroup, long groupCount, ByteRateLimiter? limiter,
        Action? onGroup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tree);
        var walk = new Walk(tree.Size, firstGroup, groupCount);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MerkleTree.GroupSize);
        try
        {
            buffer[0] = (byte)TransferStatus.Ok;
            await stream.WriteAsync(buffer.AsMemory(0, 1), cancellationToken).ConfigureAwait(false);
            await tree.ReadAsync(walk.Top, 0, buffer.AsMemory(0, MerkleTree.HashSize), cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(buffer.AsMemory(0, MerkleTree.HashSize), cancellationToken).ConfigureAwait(false);
            await SendNodeAsync(walk.Top, 0).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        async Task SendNodeAsync(int level, long index)
        {
            if (level == 0)
            {
                int length = MerkleTree.GroupLength(tree.Size, index);
                int read = length == 0 ? 0 : await RandomAccess.ReadAsync(data, buffer.AsMemory(0, length), index * MerkleTree.GroupSize, cancellationToken).ConfigureAwait(false);
                while (read < length)
                {
                    int more = await RandomAccess.ReadAsync(data, buffer.AsMemory(read, length - read), index * MerkleTree.GroupSize + read, cancellationToken).ConfigureAwait(false);
                    if (more == 0) throw new IOException("the shared file shrank; share it again");
                    read += more;
                }
                onGroup?.Invoke();
                if (limiter is not null) await limiter.WaitAsync(length, cancellationToken).ConfigureAwait(false);
                await stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                return;
            }
            if (!walk.HasRight(level, index))
            {
                await SendNodeAsync(level - 1, 2 * index).ConfigureAwait(false);
                return;
            }
            await tree.ReadAsync(level - 1, 2 * index, buffer.AsMemory(0, 2 * MerkleTree.HashSize), cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(buffer.AsMemory(0, 2 * MerkleTree.HashSize), cancellationToken).ConfigureAwait(false);
            if (walk.Intersects(level - 1, 2 * index)) await SendNodeAsync(level - 1, 2 * index).ConfigureAwait(false);
            if (walk.Intersects(level - 1, 2 * index + 1)) await SendNodeAsync(level - 1, 2 * index + 1).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads an answer to a request for groups [<paramref name="firstGroup"/>, +<paramref name="groupCount"/>) of the
    /// file <paramref name="id"/> of <paramref name="size"/> bytes, verifying as it goes; <paramref name="onGroup"/>
    /// gets each group (index, bytes) only after it verified, and must finish with the bytes before it returns.
    /// Throws <see cref="TransferException"/>: the status as an error, Corrupt on the first bad hash, Truncated when
    /// the stream ends early.
    /// </summary>
    public static async Task ReceiveRangeAsync(Stream stream, ContentId id, long size, long firstGroup, long groupCount,
        Func<long, ReadOnlyMemory<byte>, ValueTask> onGroup, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(onGroup);
        var walk = new Walk(size, firstGroup, groupCount);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MerkleTree.GroupSize);
        // One expected hash per level on the current path: the receiver's whole state besides the group buffer.
        byte[] path = new byte[(walk.Top + 1) * MerkleTree.HashSize * 2];
        try
        {
            await FillAsync(buffer.AsMemory(0, 1)).ConfigureAwait(false);
            var status = (TransferStatus)buffer[0];
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
            Span<byte> digest = stackalloc byte[MerkleTree.HashSize];
            MerkleTree.HashRoot(size, top.Span, digest);
            if (!digest.SequenceEqual(id.Digest)) throw new TransferException(TransferError.Corrupt, "the top node does not match the content id");
            await ReceiveNodeAsync(walk.Top, 0, top).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        async Task ReceiveNodeAsync(int level, long index, ReadOnlyMemory<byte> expected)
        {
            if (level == 0)
            {
                int length = MerkleTree.GroupLength(size, index);
                await FillAsync(buffer.AsMemory(0, length)).ConfigureAwait(false);
                if (!LeafMatches(buffer.AsSpan(0, length), expected.Span))
                    throw new TransferException(TransferError.Corrupt, $"group {index} does not match its leaf hash");
                await onGroup(index, buffer.AsMemory(0, length)).ConfigureAwait(false);
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

        async ValueTask FillAsync(Memory<byte> into)
        {
            if (into.Length == 0) return;
            int read = await stream.ReadAtLeastAsync(into, into.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (read < into.Length) throw new TransferException(TransferError.Truncated, "the provider's stream ended early");
        }
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
