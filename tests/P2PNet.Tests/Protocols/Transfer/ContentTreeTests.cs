using P2PNet.Protocols.Transfer;

namespace P2PNet.Tests.Protocols.Transfer;

/// <summary>The hash, the tree, the CID encoding and the range codec, without sockets.</summary>
public sealed class ContentTreeTests
{
    private static byte[] Hash(ReadOnlySpan<byte> data) => Blake3.Hasher.Hash(data).AsSpan().ToArray();

    private static byte[] Node(byte[] l, byte[] r) => Hash([1, .. l, .. r]);

    private static byte[] Root(long size, byte[] top) => Hash([2, .. BitConverter.GetBytes((ulong)size), .. top]);

    private static byte[] Pattern(int length, int seed = 0)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++) data[i] = (byte)((i * 31 + seed) % 251);
        return data;
    }

    [Theory]
    // Official BLAKE3 test vectors (BLAKE3-team/BLAKE3 test_vectors.json and the README).
    [InlineData("", "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")]
    [InlineData("abc", "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")]
    public void Leaf_hash_is_plain_blake3(string input, string hex)
    {
        var hash = new byte[32];
        MerkleTree.HashLeaf(System.Text.Encoding.ASCII.GetBytes(input), hash);
        Assert.Equal(hex, Convert.ToHexStringLower(hash));
    }

    [Fact]
    public void Cid_encoding_is_cidv1_raw_with_the_private_tree_code()
    {
        var cid = new ContentId(new byte[32]);
        byte[] bytes = cid.ToBytes();
        Assert.Equal("015596e6c20120" + new string('0', 64), Convert.ToHexStringLower(bytes));
        Assert.Equal("bafkznzwcaeqaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", cid.ToString());
        Assert.Equal(cid, ContentId.Parse(cid.ToString()));
        Assert.True(ContentId.TryParse("b" + cid.ToString()[1..].ToUpperInvariant(), out _)); // base32 is case-blind
    }

    [Theory]
    [InlineData("")]
    [InlineData("b")]
    [InlineData("zQmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG")] // a CIDv0/base58 text
    [InlineData("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")] // CIDv1 raw sha2-256: a plain hash, not our tree
    [InlineData("bafkznzwcaeqaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")] // one character short
    [InlineData("bafkznzwcaeqaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1")]
    public void Other_or_broken_cids_are_refused(string text) => Assert.False(ContentId.TryParse(text, out _));

    [Fact]
    public void Tree_digest_commits_to_size_and_pairs_bottom_up()
    {
        Assert.Equal(Root(0, Hash([])), new ContentId(Root(0, Hash([]))).Digest.ToArray());
        Assert.Equal(Root(0, Hash([])), MerkleTree.ComputeId([]).Digest.ToArray());

        // Five groups, the last one short: ((L0 L1) (L2 L3)) L4, the unpaired L4 carried up unchanged.
        byte[] data = Pattern(4 * MerkleTree.GroupSize + 100);
        byte[][] l = [.. Enumerable.Range(0, 5).Select(i => Hash(data.AsSpan(i * MerkleTree.GroupSize, Math.Min(MerkleTree.GroupSize, data.Length - i * MerkleTree.GroupSize))))];
        byte[] top = Node(Node(Node(l[0], l[1]), Node(l[2], l[3])), l[4]);
        Assert.Equal(Root(data.Length, top), MerkleTree.ComputeId(data).Digest.ToArray());
        Assert.Equal([5L, 3, 2, 1], MerkleTree.LevelCounts(data.Length));
    }

    [Fact]
    public void Known_answer_for_a_pattern_file()
    {
        // Pins the whole scheme (leaf size, prefixes, size encoding, CID text): a change here breaks every CID.
        var cid = MerkleTree.ComputeId(Pattern(100_000));
        Assert.Equal(KnownPatternCid, cid.ToString());
    }

    internal const string KnownPatternCid = "bafkznzwcaeqhp4kgxhx3pnn5nr6n3n3je2qox7sfkbpl35sxm3ugqoj5uavsmii";

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(MerkleTree.GroupSize)]
    [InlineData(MerkleTree.GroupSize + 1)]
    [InlineData(13 * MerkleTree.GroupSize + 777)]
    public async Task Tree_file_matches_in_memory_tree_and_is_reused(int size)
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "f.bin");
        await File.WriteAllBytesAsync(path, Pattern(size, 7));
        string treePath = path + TreeFile.Suffix;
        ContentId id;
        using (var tree = await TreeFile.CreateOrOpenAsync(path, treePath))
        {
            id = tree.Id;
            Assert.Equal(MerkleTree.ComputeId(Pattern(size, 7)), id);
        }
        var written = File.GetLastWriteTimeUtc(treePath);
        using (var again = await TreeFile.CreateOrOpenAsync(path, treePath))
        {
            Assert.Equal(id, again.Id);
        }
        Assert.Equal(written, File.GetLastWriteTimeUtc(treePath));
    }

    [Fact]
    public async Task Every_range_round_trips_and_each_tampered_byte_is_caught()
    {
        using var dir = new TempDir();
        int groups = 11;
        byte[] data = Pattern(groups * MerkleTree.GroupSize - 5, 3);
        string path = Path.Combine(dir.Path, "f.bin");
        await File.WriteAllBytesAsync(path, data);
        using var tree = await TreeFile.CreateOrOpenAsync(path, path + TreeFile.Suffix);
        using var handle = File.OpenHandle(path);
        for (int first = 0; first < groups; first++)
        {
            for (int count = 1; first + count <= groups; count++)
            {
                var wire = new MemoryStream();
                await TransferProtocol.SendRangeAsync(wire, tree, handle, first, count);
                var got = new byte[data.Length];
                var seen = new List<long>();
                wire.Position = 0;
                await TransferProtocol.ReceiveRangeAsync(wire, tree.Id, data.Length, first, count, (g, bytes) =>
                {
                    seen.Add(g);
                    bytes.CopyTo(got.AsMemory((int)g * MerkleTree.GroupSize));
                    return ValueTask.CompletedTask;
                });
                Assert.Equal(Enumerable.Range(first, count).Select(i => (long)i), seen);
                int start = first * MerkleTree.GroupSize, end = Math.Min(data.Length, (first + count) * MerkleTree.GroupSize);
                Assert.True(data.AsSpan(start, end - start).SequenceEqual(got.AsSpan(start, end - start)));

                // Flip one byte anywhere after the status byte: the receiver must refuse it before that group is handed on.
                byte[] bytesOnWire = wire.ToArray();
                int at = 1 + (first * 7919 + count * 104729) % (bytesOnWire.Length - 1);
                bytesOnWire[at] ^= 0x40;
                var delivered = new List<long>();
                var ex = await Assert.ThrowsAsync<TransferException>(() => TransferProtocol.ReceiveRangeAsync(new MemoryStream(bytesOnWire), tree.Id, data.Length, first, count,
                    (g, _) => { delivered.Add(g); return ValueTask.CompletedTask; }));
                Assert.Equal(TransferError.Corrupt, ex.Error);

                var cut = await Assert.ThrowsAsync<TransferException>(() => TransferProtocol.ReceiveRangeAsync(new MemoryStream(wire.ToArray()[..^1]), tree.Id, data.Length, first, count,
                    (_, _) => ValueTask.CompletedTask));
                Assert.Equal(TransferError.Truncated, cut.Error);
            }
        }
    }

    [Fact]
    public void Request_codec_round_trips_and_has_limits()
    {
        var id = MerkleTree.ComputeId([1, 2, 3]);
        var secret = new byte[16];
        secret[3] = 9;
        var request = new TransferRequest(id, secret, 123456, 64);
        var back = TransferProtocol.DecodeRequest(TransferProtocol.EncodeRequest(request));
        Assert.Equal(id, back.Id);
        Assert.Equal(secret, back.Secret.ToArray());
        Assert.Equal((123456L, 64L), (back.FirstGroup, back.GroupCount));

        Assert.Equal(TransferError.BadRange, Assert.Throws<TransferException>(() =>
            TransferProtocol.DecodeRequest(TransferProtocol.EncodeRequest(request with { GroupCount = TransferProtocol.MaxGroupsPerRequest + 1 }))).Error);
        Assert.Equal(TransferError.BadRange, Assert.Throws<TransferException>(() =>
            TransferProtocol.DecodeRequest(TransferProtocol.EncodeRequest(request with { GroupCount = 0 }))).Error);
        byte[] good = TransferProtocol.EncodeRequest(request);
        Assert.Equal(TransferError.Malformed, Assert.Throws<TransferException>(() => TransferProtocol.DecodeRequest([.. good, 0])).Error);
        Assert.Equal(TransferError.Malformed, Assert.Throws<TransferException>(() => TransferProtocol.DecodeRequest(good.AsSpan(..^1))).Error);
        Assert.Equal(TransferError.Malformed, Assert.Throws<TransferException>(() => TransferProtocol.DecodeRequest(new byte[200])).Error);
        for (int i = 0; i < good.Length; i++)
        {
            try
            {
                TransferProtocol.DecodeRequest(good.AsSpan(0, i));
                Assert.Fail($"a {i}-byte prefix parsed");
            }
            catch (TransferException)
            {
            }
        }
    }
}
