using System.Text.RegularExpressions;
using P2PNet.Tests.Support;

namespace P2PNet.Tests;

/// <summary>
/// The house plan: a layer folder may use only the folders listed before it. Wire comes before Core
/// (unlike the style guide's list) because Multiaddr's binary form needs varints, and Wire needs nothing.
/// </summary>
public sealed partial class ArchitectureTests
{
    private static readonly string[] Layers =
    [
        "Wire", "Core", "Transports", "Negotiation", "Security", "Muxers", "Upgrade", "Swarm", "Protocols",
        "Discovery", "Peers", "Distribution",
    ];

    [Fact]
    public void No_layer_uses_a_layer_above_it()
    {
        string src = Path.Combine(RepoPaths.Root, "src", "P2PNet");
        var violations = new List<string>();
        int files = 0;
        foreach (string file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(src, file);
            if (relative.StartsWith("obj", StringComparison.Ordinal) || relative.StartsWith("bin", StringComparison.Ordinal)) continue;
            int own = Array.IndexOf(Layers, relative.Split(Path.DirectorySeparatorChar)[0]);
            if (own < 0) continue;
            files++;
            foreach (Match m in UsingPattern().Matches(File.ReadAllText(file)))
            {
                int used = Array.IndexOf(Layers, m.Groups[1].Value);
                if (used > own) violations.Add($"{relative} uses P2PNet.{m.Groups[1].Value}");
            }
        }
        Assert.True(files > 10, "no layer files found");
        Assert.Empty(violations);
    }

    [GeneratedRegex(@"^\s*using\s+(?:static\s+)?P2PNet\.(\w+)", RegexOptions.Multiline)]
    private static partial Regex UsingPattern();
}
