using System.Diagnostics;
using P2PNet.Core;

namespace P2PNet.Tests.Cli;

/// <summary>
/// The <c>p2pnet</c> .NET tool as a user gets it: installed from the feed that <c>dotnet pack</c> made (scripts/test.sh
/// packs it, path in <c>P2PNET_PACKAGE_FEED</c>) into a temporary tool path, with a package cache and a NuGet config
/// of its own (so nothing stale or remote is used), then run.
/// </summary>
public sealed class ToolPackageTests
{
    internal const string Variable = "P2PNET_PACKAGE_FEED";

    [BuiltArtifactFact(Variable)]
    public async Task The_tool_installed_from_the_packed_feed_runs_p2pnet_id()
    {
        string feed = Path.GetFullPath(BuiltArtifactFactAttribute.PathFrom(Variable));
        string package = Assert.Single(Directory.GetFiles(feed, "P2PNet.Cli.*.nupkg"));
        string version = Path.GetFileNameWithoutExtension(package)["P2PNet.Cli.".Length..];
        string dir = Directory.CreateTempSubdirectory("p2pnet-tool").FullName;
        try
        {
            string config = Path.Combine(dir, "nuget.config");
            await File.WriteAllTextAsync(config, $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources><clear /><add key="local" value="{feed}" /></packageSources>
                </configuration>
                """);
            var (code, output) = await RunAsync("dotnet", dir, ["tool", "install", "P2PNet.Cli", "--version", version, "--tool-path", Path.Combine(dir, "tools"), "--configfile", config],
                ("NUGET_PACKAGES", Path.Combine(dir, "packages")));
            Assert.True(code == 0, output);

            string p2pnet = Path.Combine(dir, "tools", OperatingSystem.IsWindows() ? "p2pnet.exe" : "p2pnet");
            string key = Path.Combine(dir, "node.key");
            var (first, firstOut) = await RunAsync(p2pnet, dir, ["id", "--key", key]);
            Assert.True(first == 0, firstOut);
            var peerId = PeerId.Parse(firstOut.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("12D3KooW", StringComparison.Ordinal)).Split(' ')[0]);
            var (second, secondOut) = await RunAsync(p2pnet, dir, ["id", "--key", key]);
            Assert.True(second == 0, secondOut);
            Assert.Contains(peerId.ToString(), secondOut);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, string workingDirectory, string[] args, params (string Name, string Value)[] environment)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment) info.Environment[name] = value;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not exit in 2 minutes");
        }
        return (process.ExitCode, $"{file} {string.Join(' ', args)} exited {process.ExitCode}\nstdout:\n{await stdout}\nstderr:\n{await stderr}");
    }
}
