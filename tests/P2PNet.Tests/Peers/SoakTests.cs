using System.Globalization;
using P2PNet.Tests.Discovery;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Peers;

/// <summary>
/// The churn and partition soak (<c>bench soak</c>, docs/soak.md) as tests: node processes, each in its own network
/// namespace on one bridge (made by the bench, prefix <c>p2psk-</c>, removed at its end and leftovers of dead runs at
/// its start), sending numbered messages to each other. The bench parses every node's lines and prints
/// <c>soak result: …</c>; these tests assert on it. Needs root (skipped otherwise).
/// </summary>
[Collection(nameof(Interop.InteropCollection))]
[Trait("Category", "Soak")]
public sealed class SoakTests
{
    /// <summary>
    /// 60 seconds of the full soak: 12 nodes, links cut for 1-10 s (yamux keep-alive 2 s, so the longer cuts break
    /// connections and channels resume), nodes killed -9 and restarted with the same key, the bootstrap server killed
    /// and restarted. Nothing may be lost without a report, duplicated or reordered.
    /// </summary>
    [RootFact]
    public async Task Sixty_seconds_of_churn_and_partitions_lose_duplicate_and_reorder_nothing()
    {
        int seed = Random.Shared.Next();
        var result = await RunSoakAsync(TimeSpan.FromSeconds(150),
            "--nodes", "12", "--duration", "60", "--settle", "12", "--drain", "20", "--baseline", "20", "--event-every", "4", "--seed", I(seed));
        Assert.True(result["lost"] == 0 && result["duplicated"] == 0 && result["reordered"] == 0 && result["anomalies"] == 0,
            $"seed {seed}: {result.Line}\n{result.Output}");
        Assert.True(result["cuts"] >= 1 && result["kills"] >= 1 && result["bootstrap-restarts"] >= 1, $"seed {seed}: the chaos did not happen: {result.Line}");
        Assert.True(result["delivered"] > result["sent"] / 2, $"seed {seed}: {result.Line}");
    }

    /// <summary>
    /// Two nodes in two namespaces, the link of one cut once (<c>ip link set down</c>) for 6 s while both send: with a 1 s
    /// yamux keep-alive the connection fails, the dialer redials until the link is back and both resume the session.
    /// Every packet arrives, exactly once, in order; none is reported, and delivery resumes after the cut.
    /// </summary>
    [RootFact]
    public async Task A_link_cut_in_namespaces_resumes_losing_duplicating_and_reordering_nothing()
    {
        var result = await RunSoakAsync(TimeSpan.FromSeconds(90),
            "--nodes", "2", "--duration", "24", "--settle", "4", "--drain", "20", "--events", "1", "--event-every", "6", "--cut", "6-6",
            "--keepalive", "1", "--no-kill", "--no-bootstrap-restart", "--rate", "20");
        Assert.True(result["cuts"] == 1, result.Output);
        Assert.True(result["lost"] == 0 && result["duplicated"] == 0 && result["reordered"] == 0 && result["anomalies"] == 0
            && result["reported"] == 0 && result["sender-died"] == 0, $"{result.Line}\n{result.Output}");
        Assert.Equal(result["sent"], result["delivered"]);
        Assert.True(result.Resumed >= 2, $"delivery did not resume after the cut: {result.Output}");
        Assert.True(result["interrupted"] >= 2 && result["resumed"] == result["interrupted"], $"both channels must have lost the connection and resumed: {result.Line}");
    }

    private static string I(int n) => n.ToString(CultureInfo.InvariantCulture);

    private sealed class SoakResult(string line, int resumed, string output)
    {
        private readonly Dictionary<string, long> _values = line["soak result: ".Length..].Split(' ')
            .Select(p => p.Split('=')).ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));

        public string Line { get; } = line;
        public int Resumed { get; } = resumed;
        public string Output { get; } = output;
        public long this[string key] => _values[key];
    }

    private static async Task<SoakResult> RunSoakAsync(TimeSpan timeout, params string[] args)
    {
        string dll = BenchDll();
        await using var bench = LineProcess.Start("dotnet", Path.GetDirectoryName(dll)!, [dll, "soak", .. args]);
        string line = await bench.ExpectAsync("soak result: ", timeout);
        string resume = await bench.ExpectAsync("soak resume: ", TimeSpan.FromSeconds(10));
        await bench.WaitForExitAsync(TimeSpan.FromSeconds(30));
        int samples = int.Parse(resume.Split(' ')[2]["samples=".Length..], CultureInfo.InvariantCulture);
        return new SoakResult(line, samples, bench.Transcript + bench.StandardError);
    }

    private static string BenchDll()
    {
        // Built next to the tests (a project reference without its assembly): bench/P2PNet.Bench/bin/<Configuration>/<tfm>/.
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string dll = Path.Combine(RepoPaths.Root, "bench", "P2PNet.Bench", "bin", tfm.Parent!.Name, tfm.Name, "P2PNet.Bench.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("build the tests first: P2PNet.Bench.dll not found", dll);
        return dll;
    }
}
