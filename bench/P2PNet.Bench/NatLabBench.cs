using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using P2PNet.Tests.Protocols.Dcutr;

namespace P2PNet.Bench;

/// <summary>
/// <c>natlab</c>: DCUtR across real NATs. For every pair of NAT kinds (none, port-preserving masquerade with the listen
/// ports forwarded, plain masquerade, <c>masquerade random</c>) it builds a lab of network namespaces (an "internet"
/// bridge on 198.18.0.0/24 with a relay, a router with nftables NAT per NATed node that silently drops unsolicited
/// inbound connections, a LAN behind it), starts <c>p2pnet listen --relay-service</c> (the relay) and
/// <c>p2pnet listen --relay</c> (B), and runs N trials of <c>p2pnet ping -c 1 --json</c> from A to B's circuit address,
/// each a fresh process and identity. It reports per pair: connectivity (a pong came back), direct (DCUtR upgraded),
/// relay fallback, upgrades on the first attempt, and the time from the relayed connection to the direct one (p50,
/// p95). Namespaces are named <c>p2pdc-PID-TAG-*</c> (<c>--prefix</c> names another prefix) and removed at the end (and
/// leftovers of dead runs at the start); the lab is the tests' <see cref="NatLab"/> (linked source). Needs root and
/// nftables. Options: --trials N (default 20), --pairs none:masq,… (a subset), --prefix P, --timeline (A and B log at
/// debug, and each trial prints both sides' DCUtR timelines: where the time from relayed to direct goes), --cli DLL
/// (another build's P2PNet.Cli.dll, to compare two builds in one window).
/// </summary>
internal static class NatLabBench
{
    private static readonly string[] Public = ["--public-cidr", "198.18.0.0/15"];

    private sealed record Trial(bool Connected, bool Direct, int Attempts, double ElapsedMs, string? Reason);

    public static async Task<int> RunAsync(string[] args)
    {
        int trials = 20;
        string? pairs = null;
        string prefix = NatLab.DefaultPrefix;
        string? cliOverride = null;
        bool timeline = args.Contains("--timeline");
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--trials") trials = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            if (args[i] == "--pairs") pairs = args[i + 1];
            if (args[i] == "--prefix") prefix = args[i + 1];
            if (args[i] == "--cli") cliOverride = args[i + 1];
        }
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Console.Error.WriteLine("natlab needs root on Linux (network namespaces, nftables)");
            return 2;
        }
        string cli = cliOverride ?? CliDll();
        NatKind[] kinds = [NatKind.None, NatKind.Forwarded, NatKind.Masquerade, NatKind.Symmetric];
        var matrix = kinds.SelectMany(a => kinds.Select(b => (A: a, B: b))).ToList();
        if (pairs is not null)
        {
            var wanted = pairs.Split(',').Select(p => p.Split(':')).Select(p => (Parse(p[0]), Parse(p[1]))).ToHashSet();
            matrix = [.. matrix.Where(wanted.Contains)];
        }
        Console.WriteLine($"P2PNet NAT lab (DCUtR): {trials} trials per pair, A = ping (dialer), B = listen --relay; {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Console.WriteLine($"{"A \\ B",-24}{"connected",10}{"direct",8}{"relayed",9}{"1st try",9}{"p50 ms",9}{"p95 ms",9}  failure reasons");
        foreach (var (a, b) in matrix)
        {
            var results = await RunPairAsync(cli, a, b, trials, prefix, timeline);
            int connected = results.Count(r => r.Connected), direct = results.Count(r => r.Direct);
            int first = results.Count(r => r.Direct && r.Attempts == 1);
            var times = results.Where(r => r.Direct).Select(r => r.ElapsedMs).Order().ToList();
            string reasons = string.Join("; ", results.Where(r => !r.Direct && r.Reason is not null).GroupBy(r => Short(r.Reason!)).Select(g => $"{g.Count()}x {g.Key}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{$"{Name(a)} \\ {Name(b)}",-24}{$"{connected}/{trials}",10}{$"{direct}/{trials}",8}{$"{connected - direct}",9}{(direct == 0 ? "-" : $"{first}/{direct}"),9}{Percentile(times, 0.5),9}{Percentile(times, 0.95),9}  {reasons}"));
        }
        return 0;
    }

    private static string Timeline(string line) => line.IndexOf("): ", StringComparison.Ordinal) is int i and >= 0 ? line[(i + 3)..] : line;

    private static string Short(string reason) => reason.Length > 60 ? reason[..60] + "…" : reason;

    private static string Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? "-" : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)].ToString("0", CultureInfo.InvariantCulture);

    private static string Name(NatKind kind) => kind switch
    {
        NatKind.None => "none",
        NatKind.Forwarded => "forwarded",
        NatKind.Masquerade => "masq",
        _ => "symmetric",
    };

    private static NatKind Parse(string name) => name switch
    {
        "none" => NatKind.None,
        "forwarded" => NatKind.Forwarded,
        "masq" => NatKind.Masquerade,
        "symmetric" => NatKind.Symmetric,
        _ => throw new ArgumentException($"unknown NAT kind {name}: none, forwarded, masq or symmetric"),
    };

    private static async Task<List<Trial>> RunPairAsync(string cli, NatKind kindA, NatKind kindB, int trials, string prefix, bool timeline)
    {
        await using var lab = await NatLab.CreateAsync(prefix);
        string[] debug = timeline ? ["--log-level", "debug"] : [];
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
            var b = Child.Start(cli, bNs, ["listen", "--listen", "/ip4/0.0.0.0/tcp/4001", "--relay", relayAddress, "--key", lab.KeyFile("b"), .. Public, .. debug]);
            processes.Add(b);
            string circuit = await b.ExpectAsync(l => l.Contains("/p2p-circuit/p2p/", StringComparison.Ordinal));
            for (int t = 0; t < trials; t++)
            {
                // A fresh process, identity and listen port each time (a forwarded router forwards 5000-5999).
                await using var a = Child.Start(cli, aNs, ["ping", "-c", "1", "--json", "--listen", $"/ip4/0.0.0.0/tcp/{5000 + t}", circuit, .. Public, .. debug]);
                await a.WaitAsync(TimeSpan.FromSeconds(90));
                if (timeline)
                {
                    // B logs its side of this trial when it ends (success or failure), at most a moment after A's.
                    string bSide = await b.TakeErrorLineAsync(l => l.Contains("DCUtR timeline", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
                    string aSide = a.Errors.Split('\n').FirstOrDefault(l => l.Contains("DCUtR timeline", StringComparison.Ordinal)) ?? "(none)";
                    Console.WriteLine($"  trial {t + 1} A {Timeline(aSide)}");
                    Console.WriteLine($"  trial {t + 1} B {Timeline(bSide)}");
                }
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
        private readonly Channel<string> _errorLines = Channel.CreateBounded<string>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });

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
                if (e.Data is null) return;
                lock (child._errors) child._errors.AppendLine(e.Data);
                child._errorLines.Writer.TryWrite(e.Data);
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

        /// <summary>The first stderr line not taken before that matches, waiting up to <paramref name="timeout"/> for it ("(none)" then).</summary>
        public async Task<string> TakeErrorLineAsync(Func<string, bool> match, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await foreach (string line in _errorLines.Reader.ReadAllAsync(cts.Token))
                    if (match(line)) return line;
            }
            catch (OperationCanceledException)
            {
            }
            return "(none)";
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
}
