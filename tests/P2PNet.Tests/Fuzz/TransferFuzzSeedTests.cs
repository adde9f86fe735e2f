using P2PNet.Fuzz.Harnesses;
using P2PNet.Protocols.Transfer;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Fuzz;

/// <summary>
/// The transfer and ticket harnesses' seeds are what they claim: the response encoder the seed writer uses sends
/// the same bytes as the real responder, the response seeds verify in full, and the ticket seeds parse.
/// </summary>
public sealed class TransferFuzzSeedTests
{
    private static string Corpus(string harness) => Path.Combine(RepoPaths.Root, "fuzz", "corpus", harness);

    [Theory]
    [InlineData(0, 0, 1)]
    [InlineData(1, 0, 1)]
    [InlineData(2, 0, 5)]
    [InlineData(2, 1, 3)]
    [InlineData(2, 4, 1)]
    [InlineData(2, 3, 2)]
    public async Task Seed_response_encoder_matches_the_responder(int file, long first, long count)
    {
        byte[] data = TransferHarnesses.Files[file];
        string dir = Path.Combine(Path.GetTempPath(), "p2pnet-fuzz-seed-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "data");
            await File.WriteAllBytesAsync(path, data);
            using var tree = await TreeFile.CreateOrOpenAsync(path, path + TreeFile.Suffix);
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
            using var sent = new MemoryStream();
            await TransferProtocol.SendRangeAsync(sent, tree, handle, first, count);
            Assert.Equal(MerkleTree.ComputeId(data), tree.Id);
            Assert.Equal(sent.ToArray(), TransferHarnesses.Response(data, first, count));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("response-empty")]
    [InlineData("response-short")]
    [InlineData("response-all")]
    [InlineData("response-middle-small-reads")]
    [InlineData("response-last")]
    public async Task Response_seeds_verify_every_group(string name)
    {
        byte[] input = await File.ReadAllBytesAsync(Path.Combine(Corpus("transfer"), name));
        byte[] data = TransferHarnesses.Files[(input[0] >> 1) % TransferHarnesses.Files.Count];
        long groups = MerkleTree.GroupCount(data.Length);
        long first = input[1] % groups, count = 1 + input[2] % (groups - first);
        var seen = new List<long>();
        await TransferProtocol.ReceiveRangeAsync(new MemoryStream(input[4..]), MerkleTree.ComputeId(data), data.Length, first, count,
            (index, _) => { seen.Add(index); return ValueTask.CompletedTask; });
        Assert.Equal(Enumerable.Range((int)first, (int)count).Select(i => (long)i), seen);
    }

    [Theory]
    [InlineData("seed")]
    [InlineData("no-secret")]
    [InlineData("peer-address")]
    public async Task Ticket_seeds_parse_and_print_back_unchanged(string name)
    {
        string text = await File.ReadAllTextAsync(Path.Combine(Corpus("ticket"), name));
        Assert.True(TransferTicket.TryParse(text, out var ticket, out string? error), error);
        Assert.Equal(text, ticket.ToString());
    }
}
