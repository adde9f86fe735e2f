using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;

namespace P2PNet.Bench;

/// <summary>
/// <c>natlab</c>: DCUtR across real NATs. For every pair of NAT kinds (none, port-preserving masquerade with the listen
/// ports forwarded, plain masquerade, <c>masquerade random</c>) it builds a lab of network namespaces (an "internet"
/// bridge on 198.18.0.0/24 with a relay, a router with nftables NAT per NATed node that silently drops unsolicited
/// inbound connections, a LAN behind it), starts <c>p2pnet listen --relay-service</c> (the relay) and
/// <c>p2pnet listen --relay</c> (B), and runs N trials of <c>p2pnet ping -c 1 --json</c> from A to B's circuit address,
/// each a fresh process and identity. It reports per pair: connectivity (a pong came back), direct (DCUtR upgraded),
/// relay fallback, upgrades on the first attempt, and the time from the relayed connection to the direct one (p50,
/// p95). Namespaces are named <c>p2pdc-PID-TAG-*</c> and removed at the end (and leftovers of dead runs at the start).
/// Needs root and nftables. Options: --trials N (default 20), --pairs none:masq,… (a subset).
/// </summary>
internal static class NatLabBench
{
    private enum Kind { None, Forwarded, Masquerade, Symmetric }

    private static readonly string[] Public = ["--public-cidr", "198.18.0.0/15"];

    private sealed record Trial(bool Connected, bool Direct, int Attempts, double ElapsedMs, string? Reason);

    public static async Task<int> RunAsync(string[] args)
    {
        int trials = 20;
        string? pairs = null;
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--trials") trials = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            if (args[i] == "--pairs") pairs = args[i + 1];
        }
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Console.Error.WriteLine("natlab needs root on Linux (network namespaces, nftables)");
            return 2;
        }
        string cli = CliDll();
        Kind[] kinds = [Kind.None, Kind.Forwarded, Kind.Masquerade, Kind.Symmetric];
        var matrix = kinds.SelectMany(a => kinds.Select(b => (A: a, B: b))).ToList();
        if (pairs is not null)
        {
            var wanted = pairs.Split(',').Select(p => p.Split(':')).Select(p => (Parse(p[0]), Parse(p[1]))).ToHashSet();
            matrix = [.. matrix.Where(wanted.Contains)];
        }
        await Lab.RemoveStaleAsync();
        Console.WriteLine($"P2PNet NAT lab (DCUtR): {trials} trials per pair, A = ping (dialer), B = listen --relay; {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Console.WriteLine($"{"A \\ B",-24}{"connected",10}{"direct",8}{"relayed",9}{"1st try",9}{"p50 ms",9}{"p95 ms",9}  failure reasons");
        foreach (var (a, b) in matrix)
        {
            var results = await RunPairAsync(cli, a, b, trials);
            int connected = results.Count(r => r.Connected), direct = results.Count(r => r.Direct);
            int first = results.Count(r => r.Direct && r.Attempts == 1);
            var times = results.Where(r => r.Direct).Select(r => r.ElapsedMs).Order().ToList();
            string reasons = string.Join("; ", results.Where(r => !r.Direct && r.Reason is not null).GroupBy(r => Short(r.Reason!)).Select(g => $"{g.Count()}x {g.Key}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{$"{Name(a)} \\ {Name(b)}",-24}{$"{connected}/{trials}",10}{$"{direct}/{trials}",8}{$"{connected - direct}",9}{(direct == 0 ? "-" : $"{first}/{direct}"),9}{Percentile(times, 0.5),9}{Percentile(times, 0.95),9}  {reasons}"));
        }
        return 0;
    }

    private static string Short(string reason) => reason.Length > 60 ? reason[..60] + "…" : reason;

    private static string Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? "-" : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)].ToString("0", CultureInfo.InvariantCulture);

    private static string Name(Kind kind) => kind switch
    {
        Kind.None => "none",
        Kind.Forwarded => "forwarded",
        Kind.Masquerade => "masq",
        _ => "symmetric",
    };

    private static Kind Parse(string name) => name switch
    {
        "none" => Kind.None,
        "forwarded" => Kind.Forwarded,
        "masq" => Kind.Masquerade,
        "symmetric" => Kind.Symmetric,
        _ => throw new ArgumentException($"unknown NAT kind {name}: none, forwarded, masq or symmetric"),
    };

    private static async Task<List<Trial>> RunPairAsync(string cli, Kind kindA, Kind kindB, int trials)
    {
        await using var lab = await Lab.CreateAsync();
        var processes = new List<Child>();
        var results = new List<Trial>();
        try
        {
            string relayNs = await lab.OnInternetAsync("relay", 250);
            string aNs = await lab.NodeAsync("a", kindA);
            string bNs = await lab.NodeAsync("b", kindB);
            var relay = Child.Start(cli, relayNs, ["listen", "--listen", "/ip4/198.18.0.250/tcp/4001", "--relay-service", "--key", lab.KeyFile("relay"), .. Public]);
            processes.Add(relay);
            string relayAddress = await relay.ExpectAsync(l => l.StartsWith("/ip4/198.18.0.250/tcp/4001/p2p/", StringComparison.Ordinal));
            var b = Child.Start(cli, bNs, ["listen", "--listen", "/ip4/0.0.0.0/tcp/4001", "--relay", relayAddress, "--key", lab.KeyFile("b"), .. Public]);
            processes.Add(b);
            string circuit = await b.ExpectAsync(l => l.Contains("/p2p-circuit/p2p/", StringComparison.Ordinal));
            for (int t = 0; t < trials; t++)
            {
                // A fresh process, identity and listen port each time (a forwarded router forwards 5000-5999).
                await using var a = Child.Start(cli, aNs, ["ping", "-c", "1", "--json", "--listen", $"/ip4/0.0.0.0/tcp/{5000 + t}", circuit, .. Public]);
                await a.WaitAsync(TimeSpan.FromSeconds(90));
                bool connected = false, direct = false;
                int attempts = 0;
                double elapsed = 0;
                string? reason = null;
                foreach (string line in a.Lines)
                {
                    if (!line.StartsWith('{')) continue;
                    using var doc = JsonDocument.Parse(line);
                    var root = doc.RootElement;
                    switch (root.GetProperty("type").GetString())
                    {
                        case "pong":
                            connected = true;
                            break;
                        case "direct":
                            direct = true;
                            attempts = root.GetProperty("attempts").GetInt32();
                            elapsed = root.GetProperty("elapsedMs").GetDouble();
                            break;
                        case "holepunch-failed":
                            attempts = root.GetProperty("attempts").GetInt32();
                            reason = root.GetProperty("reason").GetString();
                            break;
                    }
                }
                if (!connected) reason ??= "no pong: " + a.Errors.Trim().Split('\n')[^1];
                results.Add(new Trial(connected, direct, attempts, elapsed, reason));
            }
        }
        finally
        {
            foreach (var p in processes) await p.DisposeAsync();
        }
        return results;
    }

    private static string CliDll()
    {
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        for (var dir = tfm; dir is not null; dir = dir.Parent)
        {
            string dll = Path.Combine(dir.FullName, "src", "P2PNet.Cli", "bin", tfm.Parent!.Name, tfm.Name, "P2PNet.Cli.dll");
            if (File.Exists(dll)) return dll;
        }
        throw new FileNotFoundException("build the solution first (P2PNet.Cli.dll)");
    }

    /// <summary>A p2pnet process in a namespace, its stdout lines collected.</summary>
    private sealed class Child : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
        private readonly List<string> _all = [];
        private readonly System.Text.StringBuilder _errors = new();

        private Child(Process process) => _process = process;

        public static Child Start(string cli, string ns, IEnumerable<string> args)
        {
            var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in (string[])["netns", "exec", ns, "dotnet", cli, .. args]) info.ArgumentList.Add(a);
            var child = new Child(new Process { StartInfo = info });
            child._process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    child._lines.Writer.TryComplete();
                    return;
                }
                lock (child._all) child._all.Add(e.Data);
                child._lines.Writer.TryWrite(e.Data);
            };
            child._process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null) lock (child._errors) child._errors.AppendLine(e.Data);
            };
            child._process.Start();
            child._process.BeginOutputReadLine();
            child._process.BeginErrorReadLine();
            return child;
        }

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_all) return [.. _all];
            }
        }

        public string Errors
        {
            get
            {
                lock (_errors) return _errors.ToString();
            }
        }

        public async Task<string> ExpectAsync(Func<string, bool> match)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await foreach (string line in _lines.Reader.ReadAllAsync(cts.Token))
                if (match(line)) return line;
            throw new InvalidOperationException("the process ended without the expected line: " + Errors);
        }

        public async Task WaitAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }
    }

    /// <summary>The namespaces of one pair (see the tests' NatLab, which this follows).</summary>
    private sealed class Lab : IAsyncDisposable
    {
        private const string Prefix = "p2pdc-";
        private readonly string _tag = $"{Prefix}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2))}";
        private readonly List<string> _namespaces = [];
        private readonly List<string> _files = [];
        private string _hub = "";
        private int _next = 10;

        public static async Task<Lab> CreateAsync()
        {
            var lab = new Lab();
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

        public async Task<string> NodeAsync(string name, Kind kind)
        {
            int n = _next++;
            if (kind == Kind.None) return await OnInternetAsync(name, n);
            string router = await OnInternetAsync($"r{name}", n);
            string node = await NsAsync(name);
            await Run("ip", "-n", router, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", node);
            await Run("ip", "-n", router, "addr", "add", $"10.231.{n}.1/24", "dev", "lan0");
            await Run("ip", "-n", router, "link", "set", "lan0", "up");
            await Run("ip", "-n", node, "addr", "add", $"10.231.{n}.2/24", "dev", "eth0");
            await Run("ip", "-n", node, "link", "set", "eth0", "up");
            await Run("ip", "-n", node, "route", "add", "default", "via", $"10.231.{n}.1");
            await Run("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
            string masquerade = kind == Kind.Symmetric ? "masquerade random" : "masquerade";
            string forward = kind == Kind.Forwarded
                ? $"chain prerouting {{ type nat hook prerouting priority dstnat; iifname \"wan0\" tcp dport {{ 4001, 5000-5999 }} dnat to 10.231.{n}.2; }}"
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

        private static async Task<(int Code, string Output)> RunQuiet(string file, params string[] args)
        {
            var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in args) info.ArgumentList.Add(a);
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, await stdout + await stderr);
        }

        // Namespaces of runs whose process is gone (crashed or killed).
        public static async Task RemoveStaleAsync()
        {
            var (_, list) = await RunQuiet("ip", "netns", "list");
            foreach (string line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                string name = line.Split(' ')[0];
                if (!name.StartsWith(Prefix, StringComparison.Ordinal)) continue;
                string[] parts = name[Prefix.Length..].Split('-');
                if (parts.Length != 3 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
                if (pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}")) continue;
                await RunQuiet("ip", "netns", "del", name);
            }
        }
    }
}
