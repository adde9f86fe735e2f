using System.Reflection;
using System.Text.RegularExpressions;
using NetArchTest.Rules;
using P2PNet.Core;
using P2PNet.Tests.Support;

namespace P2PNet.Tests;

/// <summary>
/// The house plan, checked on the compiled assembly (type references in signatures, fields and method
/// bodies, not <c>using</c> lines): a layer may use only the layers listed before it, every namespace is a
/// known layer and matches its folder, and the protocols and discovery mechanisms do not use their siblings.
/// Wire comes before Core (unlike the style guide's list) because Multiaddr's binary form needs varints.
/// </summary>
public sealed partial class ArchitectureTests
{
    private static readonly string[] Layers =
    [
        "Wire", "Core", "Transports", "Negotiation", "Security", "Muxers", "Upgrade", "Swarm", "Protocols",
        "Discovery", "Peers",
    ];

    /// <summary>Folders whose sub-folders must stay independent of each other.</summary>
    private static readonly string[] IndependentFamilies = ["Protocols", "Discovery", "Transports"];

    private static readonly Assembly Library = typeof(PeerId).Assembly;

    [Fact]
    public void No_layer_uses_a_layer_above_it()
    {
        var violations = new List<string>();
        for (int i = 0; i < Layers.Length - 1; i++)
        {
            string[] above = [.. Layers.Skip(i + 1).Select(l => $"P2PNet.{l}")];
            violations.AddRange(Failing(Types.InAssembly(Library).That().ResideInNamespaceStartingWith($"P2PNet.{Layers[i]}")
                .ShouldNot().HaveDependencyOnAny(above), $"{Layers[i]} uses a layer above it"));
        }
        Assert.True(violations.Count == 0, string.Join('\n', violations));
    }

    [Fact]
    public void The_checker_sees_type_references_in_the_compiled_code()
    {
        // Guards against a rule that passes because it sees nothing: Peers really uses Swarm and Core.
        var result = Types.InAssembly(Library).That().ResideInNamespace("P2PNet.Peers")
            .ShouldNot().HaveDependencyOnAny("P2PNet.Swarm", "P2PNet.Core").GetResult();
        Assert.False(result.IsSuccessful);
    }

    [Fact]
    public void Protocols_discovery_mechanisms_and_transports_do_not_use_their_siblings()
    {
        var violations = new List<string>();
        foreach (string family in IndependentFamilies)
        {
            var members = Library.GetTypes().Select(t => t.Namespace).OfType<string>()
                .Where(n => n.StartsWith($"P2PNet.{family}.", StringComparison.Ordinal))
                .Select(n => n.Split('.')[2]).Distinct().ToList();
            foreach (string member in members)
            {
                string[] siblings = [.. members.Where(m => m != member).Select(m => $"P2PNet.{family}.{m}")];
                if (siblings.Length == 0) continue;
                violations.AddRange(Failing(Types.InAssembly(Library).That().ResideInNamespaceStartingWith($"P2PNet.{family}.{member}")
                    .ShouldNot().HaveDependencyOnAny(siblings), $"{family}/{member} uses a sibling"));
            }
        }
        Assert.Empty(violations);
    }

    [Fact]
    public void Every_namespace_is_a_known_layer()
    {
        var unknown = Library.GetTypes().Select(t => t.Namespace).OfType<string>()
            .Where(n => n.StartsWith("P2PNet", StringComparison.Ordinal))
            .Where(n => !Layers.Any(l => n == $"P2PNet.{l}" || n.StartsWith($"P2PNet.{l}.", StringComparison.Ordinal)))
            .Distinct().ToList();
        Assert.Empty(unknown);
    }

    [Fact]
    public void Every_source_folder_is_a_known_layer_and_its_namespace()
    {
        string src = Path.Combine(RepoPaths.Root, "src", "P2PNet");
        var violations = new List<string>();
        int files = 0;
        foreach (string file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(src, file);
            string[] parts = relative.Split(Path.DirectorySeparatorChar);
            if (parts[0] is "obj" or "bin") continue;
            files++;
            if (parts.Length < 2 || Array.IndexOf(Layers, parts[0]) < 0)
            {
                violations.Add($"{relative} is not inside a known layer folder");
                continue;
            }
            string expected = "P2PNet." + string.Join('.', parts[..^1]);
            var declared = NamespacePattern().Match(File.ReadAllText(file));
            if (!declared.Success || declared.Groups[1].Value != expected)
                violations.Add($"{relative} declares namespace '{(declared.Success ? declared.Groups[1].Value : "(none)")}', expected {expected}");
        }
        Assert.True(files > 10, "no source files found");
        Assert.Empty(violations);
    }

    private static IEnumerable<string> Failing(ConditionList rule, string what)
    {
        var result = rule.GetResult();
        return result.IsSuccessful ? [] : (result.FailingTypeNames ?? []).Select(t => $"{what}: {t}");
    }

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex NamespacePattern();
}
