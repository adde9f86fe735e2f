using P2PNet.Fuzz;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Fuzz;

/// <summary>
/// Replays every fuzzing corpus (fuzz/corpus/&lt;harness&gt;: seeds, edge cases and the crashers afl++ found) through
/// its harness, with no fuzzer: a parser that regresses on any of them fails here. Each harness already catches the
/// typed errors its parser documents, so any exception is a finding.
/// </summary>
public sealed class CorpusReplayTests
{
    private static readonly TimeSpan PerInput = TimeSpan.FromSeconds(20);

    public static TheoryData<string> Harnesses()
    {
        var data = new TheoryData<string>();
        foreach (var harness in HarnessCatalog.All) data.Add(harness.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Harnesses))]
    public async Task Corpus_replays_without_unexpected_exceptions(string name)
    {
        var harness = HarnessCatalog.Find(name)!;
        string folder = Path.Combine(RepoPaths.Root, "fuzz", "corpus", name);
        string[] files = Directory.Exists(folder) ? Directory.GetFiles(folder) : [];
        Assert.True(files.Length > 0, $"harness {name} has no corpus in {folder}");
        var failures = new List<string>();
        foreach (string file in files.Order(StringComparer.Ordinal))
        {
            try
            {
                await harness.RunAsync(await File.ReadAllBytesAsync(file)).WaitAsync(PerInput);
            }
            catch (Exception ex)
            {
                failures.Add($"{Path.GetFileName(file)}: {ex.GetType().Name}: {ex.Message}");
            }
        }
        Assert.True(failures.Count == 0, $"{name}: {failures.Count} of {files.Length} inputs failed:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void Every_corpus_folder_belongs_to_a_harness()
    {
        string root = Path.Combine(RepoPaths.Root, "fuzz", "corpus");
        var orphans = Directory.GetDirectories(root).Select(Path.GetFileName).Where(d => HarnessCatalog.Find(d!) is null).ToList();
        Assert.Empty(orphans);
    }
}
