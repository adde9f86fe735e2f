using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using P2PNet.Protocols.Transfer;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Cli;

/// <summary>`p2pnet share` and `p2pnet get` as real processes on loopback.</summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed partial class TransferCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static async Task<(LineProcess Share, string Ticket)> ShareAsync(string file, params string[] extra)
    {
        var share = LineProcess.StartCli(["share", file, "--listen", "/ip4/127.0.0.1/tcp/0", .. extra]);
        Assert.StartsWith("peer id 12D3KooW", await share.NextLineAsync(Timeout));
        Assert.StartsWith("listening on /ip4/127.0.0.1/tcp/", await share.NextLineAsync(Timeout));
        string get = await share.ExpectAsync("get: p2pnet get ", Timeout);
        return (share, get["get: p2pnet get ".Length..]);
    }

    private static string WriteRandom(string dir, string name, int size)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(size));
        return path;
    }

    [Fact]
    public async Task Share_then_get_saves_the_file_and_refuses_to_overwrite_without_force()
    {
        using var dir = new P2PNet.Tests.Protocols.Transfer.TempDir();
        string source = WriteRandom(dir.Path, "notes.bin", 3_000_000);
        var (share, ticket) = await ShareAsync(source);
        await using var _ = share;
        string outDir = Directory.CreateDirectory(Path.Combine(dir.Path, "out")).FullName;

        await using (var get = LineProcess.StartCli("get", ticket, "-o", outDir))
        {
            string saved = await get.ExpectAsync("saved ", Timeout);
            string target = Path.Combine(outDir, "notes.bin");
            Assert.Equal($"saved {target} 3000000 bytes {MerkleTree.ComputeId(File.ReadAllBytes(source))}", saved);
            Assert.Equal(0, await get.WaitForExitAsync(Timeout));
            Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(target));
        }
        await using (var again = LineProcess.StartCli("get", ticket, "-o", outDir))
        {
            Assert.Equal(1, await again.WaitForExitAsync(Timeout));
            Assert.Contains("exists", again.StandardError, StringComparison.Ordinal);
        }
        await using (var forced = LineProcess.StartCli("get", ticket, "-o", outDir, "--force"))
        {
            await forced.ExpectAsync("saved ", Timeout);
            Assert.Equal(0, await forced.WaitForExitAsync(Timeout));
        }
    }

    [Theory]
    [InlineData("not-a-ticket")]
    [InlineData("p2pnet1aaaa")]
    [InlineData("p2pnet1!!!")]
    public async Task A_bad_ticket_is_refused_clearly(string ticket)
    {
        await using var get = LineProcess.StartCli("get", ticket);
        Assert.Equal(2, await get.WaitForExitAsync(Timeout));
        Assert.Contains("error: bad ticket", get.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../evil")]
    [InlineData("/etc/passwd")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("x\\..\\y")]
    public async Task Ticket_names_that_leave_the_folder_are_refused(string name)
    {
        var ticket = new TransferTicket(MerkleTree.ComputeId([1]), 1, name, new byte[16], []);
        Assert.False(TransferTicket.TryParse(ticket.ToString(), out _, out string? error));
        Assert.Contains("not a plain file name", error, StringComparison.Ordinal);
        await using var get = LineProcess.StartCli("get", ticket.ToString());
        Assert.Equal(2, await get.WaitForExitAsync(Timeout));
        Assert.Contains("not a plain file name", get.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_get_killed_at_half_resumes_and_refetches_only_missing_groups()
    {
        using var dir = new P2PNet.Tests.Protocols.Transfer.TempDir();
        const int Size = 32 << 20;
        string source = WriteRandom(dir.Path, "big.bin", Size);
        var (share, ticket) = await ShareAsync(source, "--max-rate", "16000000");
        await using var _ = share;
        string target = Path.Combine(dir.Path, "got.bin");
        string bits = target + ".partial.bits";
        long groups = MerkleTree.GroupCount(Size);

        await using (var first = LineProcess.StartCli("get", ticket, "-o", target))
        {
            await Poll.UntilAsync(() => VerifiedGroups(bits) >= groups / 2, Timeout, "half of the groups verified");
            using var victim = Process.GetProcessById(first.Id);
            victim.Kill(); // SIGKILL: no cleanup runs
            await victim.WaitForExitAsync();
        }
        long verifiedAtKill = VerifiedGroups(bits);
        Assert.InRange(verifiedAtKill, groups / 2, groups - 1);

        await using var second = LineProcess.StartCli("get", ticket, "-o", target);
        await second.ExpectAsync("saved ", Timeout);
        Assert.Equal(0, await second.WaitForExitAsync(Timeout));
        var counts = ResumeLine().Match(second.StandardError);
        Assert.True(counts.Success, second.StandardError);
        long resumed = long.Parse(counts.Groups[1].Value, CultureInfo.InvariantCulture);
        long fetched = long.Parse(counts.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.Equal(verifiedAtKill * MerkleTree.GroupSize, resumed);
        Assert.Equal(Size, resumed + fetched); // nothing verified before the kill was asked for again
        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(target));
        Assert.False(File.Exists(bits));
    }

    private static long VerifiedGroups(string bitsPath)
    {
        if (!File.Exists(bitsPath)) return 0;
        byte[] bytes;
        try
        {
            using var file = new FileStream(bitsPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            bytes = new byte[file.Length];
            file.ReadExactly(bytes);
        }
        catch (IOException)
        {
            return 0;
        }
        const int Header = 8 + ContentId.EncodedSize + 8;
        return bytes.Length <= Header ? 0 : bytes.AsSpan(Header).ToArray().Sum(b => BitOperations.PopCount(b));
    }

    [GeneratedRegex(@"resumed (\d+) bytes, fetched (\d+) bytes")]
    private static partial Regex ResumeLine();
}
