using System.Diagnostics;
using Xunit.Abstractions;

namespace P2PNet.Tests.Discovery;

/// <summary>
/// Runs the multicast/broadcast tests (trait Category=NetNs) in a child test run inside a fresh network
/// namespace with only <c>lo</c> (multicast on, 224.0.0.0/4 routed to it): announcements cannot reach the
/// host's real interfaces. Needs root and unshare (CI runs as root; .ci/run installs iproute2).
/// </summary>
public sealed class NamespaceLauncherTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Discovery_tests_run_inside_a_private_network_namespace()
    {
        if (NetNs.Inside) return; // we are the child run
        string dll = typeof(NamespaceLauncherTests).Assembly.Location;
        // scripts/test.sh sets P2PNET_TEST_RESULTS: the child's TRX lands beside ours and is counted too.
        string? results = Environment.GetEnvironmentVariable("P2PNET_TEST_RESULTS");
        string trx = string.IsNullOrEmpty(results) ? "" : $" --logger 'trx;LogFileName=netns-{Environment.ProcessId}.trx' --results-directory '{results}'";
        string script = "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && " +
                        $"exec dotnet test '{dll}' --filter 'Category={NetNs.Category}' --logger 'console;verbosity=detailed'{trx}";
        var info = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--net", "--", "sh", "-c", script }) info.ArgumentList.Add(a);
        info.Environment[NetNs.Variable] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        string text = await stdout + await stderr;
        output.WriteLine(text);
        Assert.True(process.ExitCode == 0, $"the namespaced run failed (exit {process.ExitCode}):\n{text}");
        Assert.Matches(@"Passed:\s+[1-9]", text);
        Assert.DoesNotMatch(@"Failed:\s+[1-9]", text);
    }
}
