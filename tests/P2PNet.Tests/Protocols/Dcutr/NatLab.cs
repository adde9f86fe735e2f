using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace P2PNet.Tests.Protocols.Dcutr;

/// <summary>
/// A NAT lab of network namespaces: an "internet" bridge on 198.18.0.0/24 (in its own namespace) and, per node, either
/// a place on it or a router namespace (nftables NAT of the given kind; unsolicited inbound from the WAN is silently
/// dropped, as a home router does) with a LAN 10.231.N.0/24 behind it. Names start with <c>PREFIX-PID-TAG-</c> (the
/// prefix is the caller's, <c>p2pdc-</c> by default, so that test groups running at once never touch each other's);
/// leftovers of dead runs of that prefix are removed on creation, everything on dispose. Needs root and nftables.
/// A forwarded router forwards <see cref="ListenPort"/> and 5000–5999 (the bench's per-trial listen ports). One source
/// for the tests and <c>bench natlab</c> (bench/P2PNet.Bench links this file and NatKind.cs).
/// </summary>
internal sealed class NatLab : IAsyncDisposable
{
    public const string DefaultPrefix = "p2pdc-";
    public const int ListenPort = 4001;
    private readonly string _tag;
    private readonly List<string> _namespaces = [];
    private readonly Dictionary<string, string> _routers = [];
    private readonly List<string> _files = [];
    private string _hub = "";
    private int _next = 10;

    private NatLab(string prefix) =>
        _tag = $"{prefix}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2))}";

    /// <summary>A lab whose namespaces are named <paramref name="prefix"/>PID-TAG-*.</summary>
    public static async Task<NatLab> CreateAsync(string prefix = DefaultPrefix)
    {
        await RemoveStaleAsync(prefix);
        var lab = new NatLab(prefix);
        try
        {
            lab._hub = await lab.NsAsync("hub");
            await Run("ip", "-n", lab._hub, "link", "add", "br0", "type", "bridge");
            await Run("ip", "-n", lab._hub, "link", "set", "br0", "up");
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
        return lab;
    }

    private async Task<string> NsAsync(string name)
    {
        string ns = $"{_tag}-{name}";
        await Run("ip", "netns", "add", ns);
        _namespaces.Add(ns);
        await Run("ip", "-n", ns, "link", "set", "lo", "up");
        return ns;
    }

    /// <summary>A namespace on the bridge at 198.18.0.<paramref name="host"/>.</summary>
    public async Task<string> OnInternetAsync(string name, int host)
    {
        string ns = await NsAsync(name);
        await Run("ip", "-n", _hub, "link", "add", $"p-{name}", "type", "veth", "peer", "name", "wan0", "netns", ns);
        await Run("ip", "-n", _hub, "link", "set", $"p-{name}", "master", "br0");
        await Run("ip", "-n", _hub, "link", "set", $"p-{name}", "up");
        await Run("ip", "-n", ns, "addr", "add", $"198.18.0.{host}/24", "dev", "wan0");
        await Run("ip", "-n", ns, "link", "set", "wan0", "up");
        return ns;
    }

    /// <summary>A node of <paramref name="kind"/>: the namespace its process runs in.</summary>
    public async Task<string> NodeAsync(string name, NatKind kind)
    {
        int n = _next++;
        if (kind == NatKind.None) return await OnInternetAsync(name, n);
        string router = await OnInternetAsync($"r{name}", n);
        _routers[name] = router;
        string node = await NsAsync(name);
        await Run("ip", "-n", router, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", node);
        await Run("ip", "-n", router, "addr", "add", $"10.231.{n}.1/24", "dev", "lan0");
        await Run("ip", "-n", router, "link", "set", "lan0", "up");
        await Run("ip", "-n", node, "addr", "add", $"10.231.{n}.2/24", "dev", "eth0");
        await Run("ip", "-n", node, "link", "set", "eth0", "up");
        await Run("ip", "-n", node, "route", "add", "default", "via", $"10.231.{n}.1");
        await Run("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        string masquerade = kind == NatKind.Symmetric ? "masquerade random" : "masquerade";
        string forward = kind == NatKind.Forwarded
            ? $"chain prerouting {{ type nat hook prerouting priority dstnat; iifname \"wan0\" tcp dport {{ {ListenPort}, 5000-5999 }} dnat to 10.231.{n}.2; }}"
            : "";
        string rules = $$"""
            table ip nat {
                {{forward}}
                chain postrouting { type nat hook postrouting priority srcnat; oifname "wan0" {{masquerade}}; }
            }
            table inet filter {
                chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; ct status dnat accept; iifname "lan0" oifname "wan0" accept; }
                chain input { type filter hook input priority filter; policy accept; iifname "wan0" ct state new drop; }
            }
            """;
        string file = Path.Combine(Path.GetTempPath(), $"{router}.nft");
        _files.Add(file);
        await File.WriteAllTextAsync(file, rules);
        await Run("ip", "netns", "exec", router, "nft", "-f", file);
        return node;
    }

    /// <summary>
    /// The router of NATed node <paramref name="name"/> forwards nothing between its LAN and the internet except to and
    /// from <paramref name="allowed"/> (the relay, say) until <see cref="ReleaseAsync"/>: a hole punch through it fails
    /// for now. A drop in a base chain of its own, ahead of the NAT's filter; nothing else changes.
    /// </summary>
    public async Task HoldAsync(string name, string allowed)
    {
        string rules = $$"""
            table inet hold {
                chain forward { type filter hook forward priority filter - 10; iifname "lan0" ip daddr != {{allowed}} drop; iifname "wan0" ip saddr != {{allowed}} drop; }
            }
            """;
        string file = Path.Combine(Path.GetTempPath(), $"{_routers[name]}-hold.nft");
        _files.Add(file);
        await File.WriteAllTextAsync(file, rules);
        await Run("ip", "netns", "exec", _routers[name], "nft", "-f", file);
    }

    /// <summary>Ends <see cref="HoldAsync"/>: the router forwards as its NAT kind says again.</summary>
    public Task ReleaseAsync(string name) => Run("ip", "netns", "exec", _routers[name], "nft", "delete", "table", "inet", "hold");

    /// <summary>A fresh key file path for a <c>listen</c> process (listen keeps its key; the lab's are thrown away).</summary>
    public string KeyFile(string name)
    {
        string file = Path.Combine(Path.GetTempPath(), $"{_tag}-{name}.key");
        _files.Add(file);
        return file;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (string file in _files) File.Delete(file);
        for (int i = _namespaces.Count - 1; i >= 0; i--) await RunQuiet("ip", "netns", "del", _namespaces[i]);
    }

    private static async Task Run(string file, params string[] args)
    {
        var (code, output) = await RunQuiet(file, args);
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({code}): {output}");
    }

    // ip and nft, bounded at 10 s each.
    private static async Task<(int Code, string Output)> RunQuiet(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException ex)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not end within 10 s", ex);
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    // Namespaces of runs whose process is gone (crashed or killed).
    private static async Task RemoveStaleAsync(string prefix)
    {
        var (_, list) = await RunQuiet("ip", "netns", "list");
        foreach (string line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string name = line.Split(' ')[0];
            if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
            string[] parts = name[prefix.Length..].Split('-');
            if (parts.Length != 3 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
            if (pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}")) continue;
            await RunQuiet("ip", "netns", "del", name);
        }
    }
}
