using System.Globalization;
using System.Security.Cryptography;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Protocols.AutoNat;

/// <summary>
/// AutoNAT v2 across a real NAT: network namespaces made by the test, an "internet" bridge on 198.18.0.0/24 holding
/// an AutoNAT server, a node with a public address and a router's WAN side; behind the router (nftables masquerade,
/// unsolicited inbound connections silently dropped, like a home router) a node on 10.231.2.2. Each node is a
/// <c>p2pnet chat</c> process (<c>ip netns exec</c>) with <c>--public-cidr 198.18.0.0/15</c>: the public one must print
/// <c>* reachability public (autonat)</c>, the one behind the NAT <c>* reachability private (autonat)</c>. Nothing is
/// added to the host's namespace; the namespaces are removed in <c>finally</c>, and leftovers of dead runs first.
/// Needs root and nftables (CI has both).
/// </summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class AutoNatNatLabTests
{
    private const string Prefix = "p2pan-";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(45);

    [NatLabFact]
    public async Task A_node_on_the_internet_is_public_and_one_behind_masquerade_is_private()
    {
        await RemoveStaleAsync();
        string tag = $"{Prefix}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2))}";
        var namespaces = new List<string>();
        var processes = new List<LineProcess>();
        string ruleFile = Path.Combine(Path.GetTempPath(), $"{tag}.nft");
        try
        {
            async Task<string> Ns(string name)
            {
                string ns = $"{tag}-{name}";
                await Run("ip", "netns", "add", ns);
                namespaces.Add(ns);
                await Run("ip", "-n", ns, "link", "set", "lo", "up");
                return ns;
            }
            string hub = await Ns("hub");
            await Run("ip", "-n", hub, "link", "add", "br0", "type", "bridge");
            await Run("ip", "-n", hub, "link", "set", "br0", "up");
            async Task<string> OnInternet(string name, string address)
            {
                string ns = await Ns(name);
                await Run("ip", "-n", hub, "link", "add", $"p-{name}", "type", "veth", "peer", "name", "wan0", "netns", ns);
                await Run("ip", "-n", hub, "link", "set", $"p-{name}", "master", "br0");
                await Run("ip", "-n", hub, "link", "set", $"p-{name}", "up");
                await Run("ip", "-n", ns, "addr", "add", $"{address}/24", "dev", "wan0");
                await Run("ip", "-n", ns, "link", "set", "wan0", "up");
                return ns;
            }
            string server = await OnInternet("srv", "198.18.0.10");
            string open = await OnInternet("pub", "198.18.0.11");
            string router = await OnInternet("rtr", "198.18.0.1");
            string natted = await Ns("nat");
            await Run("ip", "-n", router, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", natted);
            await Run("ip", "-n", router, "addr", "add", "10.231.2.1/24", "dev", "lan0");
            await Run("ip", "-n", router, "link", "set", "lan0", "up");
            await Run("ip", "-n", natted, "addr", "add", "10.231.2.2/24", "dev", "eth0");
            await Run("ip", "-n", natted, "link", "set", "eth0", "up");
            await Run("ip", "-n", natted, "route", "add", "default", "via", "10.231.2.1");
            await Run("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
            await File.WriteAllTextAsync(ruleFile, """
                table ip nat {
                    chain postrouting { type nat hook postrouting priority srcnat; oifname "wan0" masquerade; }
                }
                table inet filter {
                    chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; iifname "lan0" oifname "wan0" accept; }
                    chain input { type filter hook input priority filter; policy accept; iifname "wan0" ct state new drop; }
                }
                """);
            await Run("ip", "netns", "exec", router, "nft", "-f", ruleFile);

            string[] lab = ["--public-cidr", "198.18.0.0/15"];
            var srv = LineProcess.StartCliIn(server, ["chat", "--listen", "/ip4/198.18.0.10/tcp/4001", .. lab]);
            processes.Add(srv);
            string serverAddress = (await srv.ExpectAsync("listening on ", Timeout))["listening on ".Length..];
            var pub = LineProcess.StartCliIn(open, ["chat", "--listen", "/ip4/198.18.0.11/tcp/4001", "--peer", serverAddress, .. lab]);
            processes.Add(pub);
            var nat = LineProcess.StartCliIn(natted, ["chat", "--listen", "/ip4/0.0.0.0/tcp/4001", "--peer", serverAddress, .. lab]);
            processes.Add(nat);

            Assert.Equal("* reachability public (autonat)", await pub.ExpectAsync("* reachability", Timeout));
            Assert.Equal("* reachability private (autonat)", await nat.ExpectAsync("* reachability", Timeout));
        }
        finally
        {
            foreach (var p in processes) await p.DisposeAsync();
            File.Delete(ruleFile);
            for (int i = namespaces.Count - 1; i >= 0; i--) await ChildProcess.RunAsync("ip", ["netns", "del", namespaces[i]], TimeSpan.FromSeconds(10));
        }
    }

    private static async Task Run(string file, params string[] args)
    {
        var (code, stdout, stderr) = await ChildProcess.RunAsync(file, args, TimeSpan.FromSeconds(10));
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({code}): {stderr}{stdout}");
    }

    // Namespaces of runs whose process is gone (crashed or killed).
    private static async Task RemoveStaleAsync()
    {
        var (_, list, _) = await ChildProcess.RunAsync("ip", ["netns", "list"], TimeSpan.FromSeconds(10));
        foreach (string line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string name = line.Split(' ')[0];
            if (!name.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            string[] parts = name[Prefix.Length..].Split('-');
            if (parts.Length != 3 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
            if (pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}")) continue;
            await ChildProcess.RunAsync("ip", ["netns", "del", name], TimeSpan.FromSeconds(10));
        }
    }
}

/// <summary>A fact that needs root (network namespaces) and nftables; skipped, saying why, otherwise.</summary>
internal sealed class NatLabFactAttribute : FactAttribute
{
    public NatLabFactAttribute()
    {
        if (Discovery.NamespaceLan.Unavailable() is { } why) Skip = why;
        else if (!File.Exists("/usr/sbin/nft") && !File.Exists("/sbin/nft") && !File.Exists("/usr/bin/nft")) Skip = "the NAT lab needs nftables (nft); .ci/run installs it";
    }
}
