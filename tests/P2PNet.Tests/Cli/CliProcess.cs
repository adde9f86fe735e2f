using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Cli;

/// <summary>Helpers shared by the CLI process tests.</summary>
internal static class CliProcess
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>Runs the CLI to its end with standard input closed; returns its exit code and output.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        await using var cli = LineProcess.StartCli(args);
        return (await cli.WaitForExitAsync(Wait), cli.Transcript, cli.StandardError);
    }

    /// <summary>The lines of <paramref name="text"/>, empty ones left out.</summary>
    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Asserts one line on standard error starting with <paramref name="prefix"/>, and no stack trace.</summary>
    public static string AssertOneErrorLine(string stderr, string prefix = "error: ")
    {
        string line = Assert.Single(Lines(stderr));
        Assert.StartsWith(prefix, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        return line;
    }

    /// <summary>Sends SIGINT (Ctrl+C) to <paramref name="process"/>.</summary>
    public static async Task InterruptAsync(LineProcess process)
    {
        using var kill = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync().WaitAsync(Wait);
    }

    /// <summary>A loopback port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A temporary folder, deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("p2pnet-cli").FullName;

        public string File(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
