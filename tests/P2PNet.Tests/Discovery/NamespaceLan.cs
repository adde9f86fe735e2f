using System.Globalization;
using System.Security.Cryptography;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Discovery;

/// <summary>
/// A private LAN made of network namespaces: a hub namespace holding a bridge, and one namespace per node
/// joined to the bridge by a veth pair (<c>lan0</c> in the node, 10.231.1.(10+i)/24, or with <c>ipv6Only</c> only
/// fd31:231::(10+i)/64 and its link-local address, no IPv4). Everything is created
/// with <c>ip -n</c> inside the new namespaces, so nothing is added to the host's own namespace, and multicast
/// or broadcast sent on <c>lan0</c> reaches only the other nodes. Names carry the process id and a random tag
/// (<c>p2pmh-&lt;pid&gt;-&lt;tag&gt;-hub</c>) so that parallel runs do not collide; disposal deletes them, and
/// <see cref="CreateAsync"/> first deletes namespaces left by test processes that no longer exist.
/// </summary>
internal sealed class NamespaceLan : IAsyncDisposable
{
    public const string Prefix = "p2pmh-";
    public const string Interface = "lan0";
    private readonly List<string> _namespaces = [];
    private int _disposed;

    private NamespaceLan()
    {
    }

    /// <summary>The hub namespace (bridge <c>br0</c>).</summary>
    public string Hub { get; private set; } = "";

    /// <summary>The node namespaces with the address of their <see cref="Interface"/>.</summary>
    public List<(string Namespace, string Address)> Nodes { get; } = [];

    /// <summary>Why the test cannot run here, or null: needs root and iproute2's <c>ip</c>.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces are Linux only";
        if (!Environment.IsPrivilegedProcess) return "creating network namespaces needs root (CI runs as root)";
        return null;
    }

    /// <summary>Creates the LAN; <paramref name="ipv6Only"/> gives the nodes' <see cref="Interface"/> only IPv6 addresses.</summary>
    public static async Task<NamespaceLan> CreateAsync(int nodes, bool ipv6Only = false)
    {
        if (Unavailable() is { } why) throw new InvalidOperationException(why);
        await RemoveStaleAsync();
        string tag = $"{Prefix}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2))}";
        var lan = new NamespaceLan();
        try
        {
            lan.Hub = await lan.AddNamespaceAsync($"{tag}-hub");
            await IpAsync("-n", lan.Hub, "link", "add", "br0", "type", "bridge");
            await IpAsync("-n", lan.Hub, "link", "set", "br0", "up");
            for (int i = 1; i <= nodes; i++)
            {
                string ns = await lan.AddNamespaceAsync($"{tag}-n{i}");
                string port = $"p{i}";
                string address = ipv6Only ? $"fd31:231::{10 + i}" : $"10.231.1.{10 + i}";
                // The pair is born in the hub with its node end moved straight into the node namespace.
                await IpAsync("-n", lan.Hub, "link", "add", port, "type", "veth", "peer", "name", Interface, "netns", ns);
                await IpAsync("-n", lan.Hub, "link", "set", port, "master", "br0");
                await IpAsync("-n", lan.Hub, "link", "set", port, "up");
                // nodad: usable at once, not after duplicate address detection (about a second).
                if (ipv6Only) await IpAsync("-n", ns, "-6", "addr", "add", $"{address}/64", "dev", Interface, "nodad");
                else await IpAsync("-n", ns, "addr", "add", $"{address}/24", "dev", Interface);
                await IpAsync("-n", ns, "link", "set", "dev", Interface, "up");
                await IpAsync("-n", ns, "link", "set", "dev", "lo", "up");
                lan.Nodes.Add((ns, address));
            }
            return lan;
        }
        catch
        {
            await lan.DisposeAsync();
            throw;
        }
    }

    private async Task<string> AddNamespaceAsync(string name)
    {
        await IpAsync("netns", "add", name);
        _namespaces.Add(name);
        return name;
    }

    /// <summary>Deletes <c>p2pmh-&lt;pid&gt;-…</c> namespaces whose process is gone (a crashed or killed run).</summary>
    private static async Task RemoveStaleAsync()
    {
        var (_, list, _) = await RunAsync("ip", "netns", "list");
        foreach (string line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string name = line.Split(' ')[0];
            if (!name.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            string[] parts = name[Prefix.Length..].Split('-');
            if (parts.Length != 3 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
            if (pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}")) continue;
            await RunAsync("ip", "netns", "del", name);
        }
    }

    private static async Task IpAsync(params string[] args)
    {
        var (code, stdout, stderr) = await RunAsync("ip", args);
        if (code != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({code}): {stderr}{stdout}");
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string file, params string[] args)
    {
        try
        {
            return await ChildProcess.RunAsync(file, args, TimeSpan.FromSeconds(10));
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"cannot run '{file}' (iproute2 missing? .ci/run installs it): {ex.Message}", ex);
        }
    }

    /// <summary>Deletes the namespaces (their interfaces and the bridge go with them); idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        var failures = new List<string>();
        for (int i = _namespaces.Count - 1; i >= 0; i--)
        {
            var (code, _, stderr) = await RunAsync("ip", "netns", "del", _namespaces[i]);
            if (code != 0) failures.Add($"{_namespaces[i]}: {stderr.Trim()}");
        }
        if (failures.Count > 0) throw new InvalidOperationException("could not delete namespaces: " + string.Join("; ", failures));
    }
}
