using P2PNet.Tests.Support;
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
        var environment = new Dictionary<string, string> { [NetNs.Variable] = "1", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" };
        var (code, stdout, stderr) = await ChildProcess.RunAsync("unshare", ["--net", "--", "sh", "-c", script], TimeSpan.FromMinutes(3), environment);
        string text = stdout + stderr;
        output.WriteLine(text);
        Assert.True(code == 0, $"the namespaced run failed (exit {code}):\n{text}");
        Assert.Matches(@"Passed:\s+[1-9]", text);
        Assert.DoesNotMatch(@"Failed:\s+[1-9]", text);
    }
}
