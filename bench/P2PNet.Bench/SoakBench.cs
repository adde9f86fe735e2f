using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;

namespace P2PNet.Bench;

/// <summary>
/// <c>soak</c>: the churn and partition soak (needs root: network namespaces). N nodes (<see cref="SoakNode"/>, default
/// 12), each a process in its own namespace on one bridge, and a bootstrap server in another, for <c>--duration</c>
/// seconds (default 600) of steady sending (<c>--rate</c> messages/s from every node to every other, default 5)
/// while a driver cuts nodes' links (<c>ip link set down</c> for 1–10 s), kills -9 and restarts nodes of the upper
/// half (same key: the peers see it restarted and lose the session) and kill -9s and restarts the bootstrap server.
/// Chaos stops <c>--settle</c> seconds before the end; then the nodes stop sending, the driver waits (at most
/// <c>--drain</c> s) until every packet of a live sender was delivered or reported, and stops them gracefully.
/// Prints per ordered pair: sent, delivered, duplicated, reordered, reported failed (and of those, delivered anyway),
/// sender died, lost without report; FDs, RSS, managed heap (after a full collection), GC committed bytes and threads of
/// the nodes never killed at <c>--baseline</c> s and at the end; how long killed nodes took to be back; each channel whose
/// resume window expired, with the kills and cuts of its ends before; the time from a cut link coming back to the first
/// delivery on each pair through it (median, p95, max).
/// The last lines (<c>soak result: …</c>) are what the test suite parses; exit code 0 when nothing was lost without
/// report, duplicated or reordered.
/// Options: --nodes N, --duration S, --rate R, --settle S, --drain S, --baseline S, --event-every S (mean time between
/// chaos events, default 6), --cut MIN-MAX (seconds, default 1-10), --keepalive S (yamux keep-alive interval and timeout
/// of the nodes, default 2, so that a cut of more than about 4 s breaks the connection and the channels resume; 0: off,
/// the library's default, under which TCP rides out every cut), --no-kill, --no-bootstrap-restart, --seed N, --keep-logs
/// (keep the nodes' logs, /tmp/p2psk-…/nodeN.err, even when nothing went wrong), --events N (at most N chaos events),
/// --runtime-defaults (run the nodes without the memory settings of <see cref="MemoryEnvironment"/>, to compare).
/// </summary>
internal static class SoakBench
{
    private const string Prefix = "p2psk-";
    private const string Subnet = "10.47.0.";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan MeshTimeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// The nodes' memory settings (docs/soak.md, "Memory"): what a long-running node's RSS grew by after its first
    /// minute was not ours but glibc's malloc arenas (a 64 MiB heap per arena, up to 8 per core, keeping what the
    /// runtime's threads freed), the GC's gen0 budget, which the runtime sizes from the L3 cache (105 MiB here: a budget
    /// of tens of MiB the node fills slowly), and the JIT recompiling methods at tier 1 as rarer paths (reconnects,
    /// resumes) get hot. Two arenas, a 4 MiB gen0 budget and no tiering (every method compiled once, optimized) keep
    /// the footprint level, at the cost of a slower start.
    /// </summary>
    private static readonly Dictionary<string, string> MemoryEnvironment = new()
    {
        ["MALLOC_ARENA_MAX"] = "2",
        ["DOTNET_GCgen0size"] = "0x400000",
        ["DOTNET_TieredCompilation"] = "0",
    };

    private sealed record Options(int Nodes, double Duration, double Rate, double Settle, double Drain, double Baseline,
        double EventEvery, double CutMin, double CutMax, bool Kill, bool BootstrapRestart, int Seed, double KeepAlive, bool KeepLogs, int MaxEvents, bool RuntimeDefaults);

    private const string Usage = """
        usage: bench soak [options]   (Linux, root: it creates network namespaces; docs/soak.md)
          --duration S            seconds of steady sending, with chaos until --settle before the end (default 600)
          --nodes N               node processes, 2..200 (default 12)
          --rate R                messages per second from each node to each other (default 5)
          --settle S              chaos stops S seconds before the end (default min(30, duration/4))
          --baseline S            FDs and RSS of the nodes never killed are compared from S seconds on (default min(60, duration/3))
          --drain S               after sending stops, wait at most S seconds for every packet to be delivered or reported (default 60)
          --event-every S         mean seconds between chaos events (default 6)
          --cut A-B               link cuts last A to B seconds (default 1-10)
          --events N              stop making events after N
          --keepalive S           the nodes' yamux keep-alive interval and timeout in seconds (default 2; 0: off)
          --seed N                random seed of the event schedule
          --no-kill               no kill -9 of nodes
          --no-bootstrap-restart  never restart the bootstrap server
          --keep-logs             keep the nodes' logs even when nothing went wrong
          --runtime-defaults      run the nodes without the soak's memory settings, to compare
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        int nodes = 12, seed = Environment.TickCount, maxEvents = int.MaxValue;
        double duration = 600, rate = 5, settle = -1, drain = 60, baseline = -1, every = 6, cutMin = 1, cutMax = 10, keepAlive = 2;
        bool kill = true, bootstrapRestart = true, keepLogs = false, runtimeDefaults = false;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "--help" or "-h")
            {
                Console.WriteLine(Usage);
                return 0;
            }
            bool flag = arg is "--no-kill" or "--keep-logs" or "--runtime-defaults" or "--no-bootstrap-restart";
            bool valued = arg is "--nodes" or "--duration" or "--rate" or "--settle" or "--drain" or "--baseline" or "--event-every"
                or "--keepalive" or "--seed" or "--cut" or "--events";
            if (!flag && !valued)
            {
                Console.Error.WriteLine($"soak: unknown option '{arg}'; see 'soak --help'");
                return 2;
            }
            if (valued && i + 1 >= args.Length)
            {
                Console.Error.WriteLine($"soak: {arg} needs a value; see 'soak --help'");
                return 2;
            }
            string next = flag ? "" : args[++i];
            try
            {
                double D() => double.Parse(next, CultureInfo.InvariantCulture);
                switch (arg)
                {
                    case "--nodes": nodes = int.Parse(next, CultureInfo.InvariantCulture); break;
                    case "--duration": duration = D(); break;
                    case "--rate": rate = D(); break;
                    case "--settle": settle = D(); break;
                    case "--drain": drain = D(); break;
                    case "--baseline": baseline = D(); break;
                    case "--event-every": every = D(); break;
                    case "--keepalive": keepAlive = D(); break;
                    case "--seed": seed = int.Parse(next, CultureInfo.InvariantCulture); break;
                    case "--cut":
                        string[] range = next.Split('-');
                        cutMin = double.Parse(range[0], CultureInfo.InvariantCulture);
                        cutMax = double.Parse(range[^1], CultureInfo.InvariantCulture);
                        break;
                    case "--no-kill": kill = false; break;
                    case "--keep-logs": keepLogs = true; break;
                    case "--runtime-defaults": runtimeDefaults = true; break;
                    case "--events": maxEvents = int.Parse(next, CultureInfo.InvariantCulture); break;
                    case "--no-bootstrap-restart": bootstrapRestart = false; break;
                    default:
                        Console.Error.WriteLine($"soak: unknown option '{arg}'; see 'soak --help'");
                        return 2;
                }
            }
            catch (FormatException)
            {
                Console.Error.WriteLine($"soak: {arg}: '{next}' is not a number; see 'soak --help'");
                return 2;
            }
        }
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
        {
            Console.Error.WriteLine("soak: needs Linux and root (it creates network namespaces)");
            return 2;
        }
        if (nodes < 2 || nodes > 200) { Console.Error.WriteLine("soak: --nodes must be 2..200"); return 2; }
        if (settle < 0) settle = Math.Min(30, duration / 4);
        if (baseline < 0) baseline = Math.Min(60, duration / 3);
        var options = new Options(nodes, duration, rate, settle, drain, baseline, every, cutMin, cutMax, kill, bootstrapRestart, seed, keepAlive, keepLogs, maxEvents, runtimeDefaults);
        await using var run = new SoakRun(options);
        return await run.RunAsync();
    }

    private sealed class SoakRun(Options o) : IAsyncDisposable
    {
        private readonly Random _random = new(o.Seed);
        private readonly Stopwatch _clock = new();
        private readonly SoakLedger _ledger = new();
        private readonly string _tag = $"{Prefix}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2))}";
        private readonly List<string> _namespaces = [];
        private readonly string _folder = Path.Combine(Path.GetTempPath(), $"p2psk-{Guid.NewGuid():N}");
        private readonly string _keyBase = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        private Child[] _nodes = [];
        private Child? _bootstrap;
        private string _hub = "";
        private readonly object _chaosLock = new();
        private readonly HashSet<int> _cut = [];
        private readonly HashSet<int> _down = [];
        private readonly List<(int Node, double Down, double Up)> _cuts = [];
        private readonly List<(int Node, double Killed, double Restarted)> _kills = [];
        private int _bootstrapRestarts;
        private int _bootstrapFailedStarts;
        private int _bootstrapRestarting;
        private bool _keepLogs = true;
        private double _start;

        private string Ns(string name) => $"{_tag}-{name}";

        private static string BootstrapUrl => $"http://{Subnet}2:5080";

        public async Task<int> RunAsync()
        {
            Directory.CreateDirectory(_folder);
            Console.WriteLine($"P2PNet soak: {o.Nodes} nodes, {o.Duration:0} s, {o.Rate:0.#} msg/s per pair, chaos every ~{o.EventEvery:0.#} s until {o.Settle:0} s before the end " +
                $"(cuts {o.CutMin:0.#}-{o.CutMax:0.#} s, yamux keep-alive {(o.KeepAlive > 0 ? $"{o.KeepAlive:0.#} s" : "off")}, kills {(o.Kill ? "on" : "off")}, bootstrap restarts {(o.BootstrapRestart ? "on" : "off")}, {(o.RuntimeDefaults ? "runtime defaults" : string.Join(" ", MemoryEnvironment.Select(p => $"{p.Key}={p.Value}")))}), seed {o.Seed}, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
            await RemoveStaleAsync();
            await CreateLanAsync();
            _clock.Start();
            _bootstrap = await StartBootstrapAsync();
            _nodes = new Child[o.Nodes];
            await Task.WhenAll(Enumerable.Range(0, o.Nodes).Select(async i => _nodes[i] = await StartNodeAsync(i, 0)));
            int pairs = o.Nodes * (o.Nodes - 1);
            double meshDeadline = _clock.Elapsed.TotalSeconds + MeshTimeout.TotalSeconds;
            while (_ledger.PairsDelivering() < pairs && _clock.Elapsed.TotalSeconds < meshDeadline) await Task.Delay(200);
            if (_ledger.PairsDelivering() < pairs) _keepLogs = true;
            if (_ledger.PairsDelivering() < pairs)
            {
                Console.WriteLine($"soak: only {_ledger.PairsDelivering()} of {pairs} pairs delivering after {MeshTimeout.TotalSeconds:0} s; node logs in {_folder}");
                return 1;
            }
            double start = _clock.Elapsed.TotalSeconds;
            _start = start;
            Console.WriteLine($"mesh of {pairs} pairs delivering after {start:0.0} s; soaking");

            var memory = new Dictionary<int, MemorySample>();
            var chaos = ChaosAsync(start + o.Duration - o.Settle);
            var baseline = Task.Run(async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(o.Baseline));
                await AskMemoryAsync();
                lock (_chaosLock)
                    for (int i = 0; i < o.Nodes; i++)
                        if (_nodes[i].Epoch == 0 && !_down.Contains(i) && Sample(i) is { } m) memory[i] = m;
            });
            double lastReport = start;
            while (_clock.Elapsed.TotalSeconds < start + o.Duration)
            {
                await Task.Delay(1000);
                if (_clock.Elapsed.TotalSeconds - lastReport >= 60)
                {
                    lastReport = _clock.Elapsed.TotalSeconds;
                    Console.WriteLine($"  {lastReport - start,4:0} s: {_cuts.Count} cuts, {_kills.Count} kills, {_bootstrapRestarts} bootstrap restarts, {_ledger.Outstanding()} packets in flight");
                }
            }
            await chaos;
            await baseline;
            var end = new Dictionary<int, MemorySample>();
            await AskMemoryAsync();
            for (int i = 0; i < o.Nodes; i++)
                if (_nodes[i].Epoch == 0 && Sample(i) is { } m) end[i] = m;

            foreach (var n in _nodes) await n.SendAsync("stop");
            double drainStart = _clock.Elapsed.TotalSeconds;
            long outstanding;
            while ((outstanding = _ledger.Outstanding()) > 0 && _clock.Elapsed.TotalSeconds - drainStart < o.Drain) await Task.Delay(500);
            double drained = _clock.Elapsed.TotalSeconds - drainStart;
            Console.WriteLine(outstanding == 0 ? $"drained in {drained:0.0} s" : $"drain: {outstanding} packets neither delivered nor reported after {o.Drain:0} s");
            await Task.WhenAll(_nodes.Select(n => n.QuitAsync()));
            return Report(memory, end);
        }

        private int Report(Dictionary<int, MemorySample> baseline, Dictionary<int, MemorySample> end)
        {
            var rows = _ledger.Rows(o.Nodes);
            Console.WriteLine();
            Console.WriteLine($"{"pair",-8}{"sent",8}{"deliv",8}{"dup",6}{"reord",6}{"report",8}{"(dlv)",7}{"died",6}{"lost",6}");
            foreach (var r in rows)
                Console.WriteLine($"{$"{r.Src}->{r.Dst}",-8}{r.Sent,8}{r.Delivered,8}{r.Duplicated,6}{r.Reordered,6}{r.Reported,8}{r.ReportedDelivered,7}{r.SenderDied,6}{r.Lost,6}{(r.Anomalies > 0 ? $"  anomalies {r.Anomalies}" : "")}");
            long S(Func<SoakLedger.PairRow, long> f) => rows.Sum(f);
            Console.WriteLine($"{"total",-8}{S(r => r.Sent),8}{S(r => r.Delivered),8}{S(r => r.Duplicated),6}{S(r => r.Reordered),6}{S(r => r.Reported),8}{S(r => r.ReportedDelivered),7}{S(r => r.SenderDied),6}{S(r => r.Lost),6}");
            Console.WriteLine("(deliv: delivered and not reported; report: reported failed, (dlv) of them delivered anyway; died: sender killed before the acknowledgement)");
            Console.WriteLine($"reported by reason: {string.Join(", ", _ledger.Reasons().Select(r => $"{r.Key} {r.Value}"))}");

            Console.WriteLine();
            Console.WriteLine($"nodes never killed, at {o.Baseline:0} s and at the end:");
            double worstFd = 0, worstRss = 0, worstManaged = 0;
            int compared = 0;
            foreach (var (i, b) in baseline.OrderBy(p => p.Key))
            {
                if (!end.TryGetValue(i, out var e)) continue;
                double fd = 100.0 * (e.Fd - b.Fd) / b.Fd, rss = 100.0 * (e.Rss - b.Rss) / b.Rss;
                compared++;
                worstFd = Math.Max(worstFd, fd);
                worstRss = Math.Max(worstRss, rss);
                // Managed: the heap after a full collection (the node's last M line before each sample), and the GC's committed bytes.
                double managed = b.Managed > 0 ? 100.0 * (e.Managed - b.Managed) / b.Managed : double.NaN;
                if (!double.IsNaN(managed)) worstManaged = Math.Max(worstManaged, managed);
                Console.WriteLine($"  node {i,2}: FDs {b.Fd,4} -> {e.Fd,4} ({fd,6:+0.0;-0.0}%)   RSS {b.Rss / 1024.0,6:0.0} -> {e.Rss / 1024.0,6:0.0} MiB ({rss,6:+0.0;-0.0}%)" +
                    $"   managed {b.Managed / 1048576.0,5:0.0} -> {e.Managed / 1048576.0,5:0.0} MiB ({managed,6:+0.0;-0.0}%)   GC committed {b.Committed / 1048576.0,5:0.0} -> {e.Committed / 1048576.0,5:0.0} MiB   threads {b.Threads,3} -> {e.Threads,3}");
            }

            ReportMemoryKinds(baseline, end);
            ReportExpired();

            var samples = ResumeSamples();
            samples.Sort();
            double Pct(double p) => samples.Count == 0 ? double.NaN : samples[Math.Min(samples.Count - 1, (int)Math.Ceiling(p * samples.Count) - 1)];
            Console.WriteLine();
            Console.WriteLine($"cut link back to delivery on each pair through it: {samples.Count} samples from {_cuts.Count} cuts, median {Pct(0.5) * 1000:0} ms, p95 {Pct(0.95) * 1000:0} ms, max {(samples.Count == 0 ? double.NaN : samples[^1]) * 1000:0} ms");

            long lost = S(r => r.Lost), dup = S(r => r.Duplicated), reord = S(r => r.Reordered), anomalies = S(r => r.Anomalies) + _ledger.Malformed;
            Console.WriteLine();
            Console.WriteLine($"soak result: pairs={rows.Count} sent={S(r => r.Sent)} delivered={S(r => r.Delivered)} duplicated={dup} reordered={reord} reported={S(r => r.Reported)} " +
                $"reported-delivered={S(r => r.ReportedDelivered)} sender-died={S(r => r.SenderDied)} lost={lost} anomalies={anomalies} cuts={_cuts.Count} kills={_kills.Count} bootstrap-restarts={_bootstrapRestarts} bootstrap-failed-starts={_bootstrapFailedStarts} interrupted={_ledger.Resumes.Interrupted} resumed={_ledger.Resumes.Resumed}");
            Console.WriteLine($"soak memory: nodes={compared} worst-fd={worstFd:+0.0;-0.0}% worst-rss={worstRss:+0.0;-0.0}% worst-managed={worstManaged:+0.0;-0.0}%");
            Console.WriteLine($"soak resume: samples={samples.Count} median-ms={Pct(0.5) * 1000:0} p95-ms={Pct(0.95) * 1000:0}");
            bool ok = lost == 0 && dup == 0 && reord == 0 && anomalies == 0;
            if (ok && !o.KeepLogs) _keepLogs = false;
            else Console.WriteLine($"node logs kept in {_folder}");
            return ok ? 0 : 1;
        }

        // Where the RSS of the nodes never killed went between the baseline and the end (the nodes' X lines, SoakMemory),
        // and each one's RSS every minute, to tell a warm-up that levels off from a leak that keeps growing.
        private void ReportMemoryKinds(Dictionary<int, MemorySample> baseline, Dictionary<int, MemorySample> end)
        {
            string[] kinds = ["rss", "gc", "code", "mheap", "arena", "anon", "dll", "so", "file", "gc_committed", "gc_heap", "gc_frag", "malloc_used", "malloc_free", "malloc_mmap", "jit_il", "jit_methods"];
            var rows = baseline.Where(p => end.ContainsKey(p.Key) && p.Value.Kinds is not null && end[p.Key].Kinds is not null).OrderBy(p => p.Key).ToList();
            if (rows.Count == 0) return;
            Console.WriteLine();
            Console.WriteLine("where the resident memory is, at the baseline -> at the end (MiB; jit_il KiB, jit_methods a count; node X lines):");
            Console.WriteLine($"  {"node",-5}" + string.Concat(kinds.Select(k => $"{k,18}")));
            foreach (var (i, b) in rows)
            {
                var e = end[i];
                string Cell(string k)
                {
                    long x = b.Kinds!.GetValueOrDefault(k), y = e.Kinds!.GetValueOrDefault(k);
                    return k is "jit_methods" or "jit_il" ? $"{x,8}->{y,-8}" : $"{x / 1024.0,7:0.0}->{y / 1024.0,-6:0.0}{(y - x) / 1024.0,5:+0.0;-0.0;+0.0}";
                }
                Console.WriteLine($"  {i,-5}" + string.Concat(kinds.Select(k => $"{Cell(k),18}")));
            }
            var total = kinds.ToDictionary(k => k, k => rows.Sum(p => end[p.Key].Kinds!.GetValueOrDefault(k) - p.Value.Kinds!.GetValueOrDefault(k)) / (double)rows.Count);
            Console.WriteLine("  mean change per node: " + string.Join(", ", kinds.Where(k => !k.StartsWith("jit", StringComparison.Ordinal)).Select(k => $"{k} {total[k] / 1024.0:+0.00;-0.00} MiB")) +
                $", jit_il {total["jit_il"]:+0;-0} KiB, jit_methods {total["jit_methods"]:+0;-0}");
            Console.WriteLine("RSS of the nodes never killed, each X line (MiB; time from the start of the soak):");
            foreach (var (i, _) in rows)
            {
                var list = _ledger.Memory(i);
                Console.WriteLine($"  node {i,2}: " + string.Join(" ", list.Select(m => $"{m.Time - _start,4:0}s {m.Values.GetValueOrDefault("rss") / 1024.0:0.0}")));
            }
        }

        // Kills: how long a killed node took to be back (ready); expired resume windows: what the peer went through in
        // the window before (a channel expires when its dialer did not come back within the window: dead, cut, or slow).
        private void ReportExpired()
        {
            var back = _kills.Select(x => x.Restarted - x.Killed).Order().ToList();
            if (back.Count > 0)
                Console.WriteLine($"killed nodes back (ready) after: median {back[back.Count / 2]:0.0} s, max {back[^1]:0.0} s ({back.Count} kills)");
            var expired = _ledger.Expired();
            if (expired.Count == 0) return;
            const double Window = 30;
            Console.WriteLine($"resume windows expired: {expired.Count} channels");
            foreach (var (node, dst, time) in expired)
            {
                double from = time - Window - 5;
                var causes = new List<string>();
                foreach (var (k, killed, restarted) in _kills)
                    if ((k == dst || k == node) && killed < time && restarted > from) causes.Add($"node {k} killed at {killed:0.0} s, back at {restarted:0.0} s");
                foreach (var (k, down, up) in _cuts)
                    if ((k == dst || k == node) && down < time && up > from) causes.Add($"node {k} cut {down:0.0}-{up:0.0} s");
                Console.WriteLine($"  {node}->{dst} at {time:0.0} s: {(causes.Count > 0 ? string.Join("; ", causes) : "no kill or cut of either end in the window before")}");
            }
        }

        // For each cut: each pair through the cut node whose ends were neither killed nor cut (again) from just before
        // the cut until delivery resumed.
        private List<double> ResumeSamples()
        {
            var samples = new List<double>();
            for (int c = 0; c < _cuts.Count; c++)
            {
                var (k, down, up) = _cuts[c];
                for (int p = 0; p < o.Nodes; p++)
                {
                    if (p == k) continue;
                    foreach (var (src, dst) in new[] { (k, p), (p, k) })
                    {
                        if (_ledger.FirstDeliveryAfter(src, dst, up) is not { } t || t - up > 60) continue;
                        if (Disturbed(p, down, t, except: -1) || Disturbed(k, down, t, except: c)) continue;
                        samples.Add(t - up);
                    }
                }
            }
            return samples;
        }

        private bool Disturbed(int node, double from, double to, int except)
        {
            from -= 2;
            if (_kills.Any(x => x.Node == node && x.Killed < to && x.Restarted > from)) return true;
            for (int i = 0; i < _cuts.Count; i++)
                if (i != except && _cuts[i].Node == node && _cuts[i].Down < to && _cuts[i].Up > from) return true;
            return false;
        }

        /// <summary>What the driver compares for a node never killed: its FDs and RSS, and the node's last M and X lines.</summary>
        private sealed record MemorySample(long Fd, long Rss, long Managed, long Committed, long Threads, Dictionary<string, long>? Kinds);

        // Asks the nodes of the first incarnation for an M and X line now (a full collection, smaps), and waits (at most
        // 5 s) until each has answered, so that the sample that follows compares like with like.
        private async Task AskMemoryAsync()
        {
            var before = new Dictionary<int, int>();
            for (int i = 0; i < o.Nodes; i++)
            {
                if (_nodes[i].Epoch != 0) continue;
                before[i] = _ledger.Memory(i).Count;
                await _nodes[i].SendAsync("mem");
            }
            var deadline = _clock.Elapsed + TimeSpan.FromSeconds(5);
            while (before.Any(p => _ledger.Memory(p.Key).Count == p.Value) && _clock.Elapsed < deadline) await Task.Delay(100);
        }

        private MemorySample? Sample(int index)
        {
            try
            {
                int pid = _nodes[index].Pid;
                var (managed, committed, threads) = _ledger.Heap(index);
                long fd = Directory.GetFiles($"/proc/{pid}/fd").Length;
                string? rssLine = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                long rss = rssLine is null ? 0 : long.Parse(rssLine.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                var kinds = _ledger.Memory(index) is { Count: > 0 } list ? list[^1].Values : null;
                return new MemorySample(fd, rss, managed, committed, threads, kinds);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                return null;
            }
        }

        private async Task ChaosAsync(double until)
        {
            var running = new List<Task>();
            var kinds = new List<string> { "cut" };
            if (o.Kill) kinds.Add("kill");
            if (o.BootstrapRestart) kinds.Add("bootstrap");
            var queue = new Queue<string>(kinds); // one of each first, then at random
            for (int events = 0; events < o.MaxEvents; events++)
            {
                double wait = o.EventEvery * (0.5 + _random.NextDouble());
                if (_clock.Elapsed.TotalSeconds + wait >= until) break;
                await Task.Delay(TimeSpan.FromSeconds(wait));
                running.RemoveAll(t => t.IsCompleted);
                string kind = queue.Count > 0 ? queue.Dequeue() : Pick(kinds);
                double room = until - _clock.Elapsed.TotalSeconds;
                switch (kind)
                {
                    case "cut": running.Add(CutAsync(Math.Min(room, o.CutMin + _random.NextDouble() * (o.CutMax - o.CutMin)))); break;
                    case "kill": running.Add(KillAsync()); break;
                    case "bootstrap": running.Add(RestartBootstrapAsync()); break;
                }
            }
            await Task.WhenAll(running);
        }

        private string Pick(List<string> kinds)
        {
            // Weights: cuts 50%, kills 35%, bootstrap restarts 15% (of those enabled).
            double r = _random.NextDouble() * kinds.Sum(Weight);
            foreach (string k in kinds) { r -= Weight(k); if (r < 0) return k; }
            return kinds[0];
            static double Weight(string k) => k switch { "cut" => 50, "kill" => 35, _ => 15 };
        }

        private async Task CutAsync(double seconds)
        {
            int k;
            lock (_chaosLock)
            {
                var free = Enumerable.Range(0, o.Nodes).Where(i => !_cut.Contains(i) && !_down.Contains(i)).ToList();
                if (free.Count == 0 || _cut.Count >= Math.Max(1, o.Nodes / 4)) return;
                k = free[_random.Next(free.Count)];
                _cut.Add(k);
            }
            try
            {
                await Ip("-n", _hub, "link", "set", $"p{k}", "down");
                double down = _clock.Elapsed.TotalSeconds;
                await Task.Delay(TimeSpan.FromSeconds(seconds));
                await Ip("-n", _hub, "link", "set", $"p{k}", "up");
                double up = _clock.Elapsed.TotalSeconds;
                lock (_chaosLock) _cuts.Add((k, down, up));
            }
            finally
            {
                lock (_chaosLock) _cut.Remove(k);
            }
        }

        private async Task KillAsync()
        {
            int k;
            lock (_chaosLock)
            {
                // Only the upper half is ever killed, so the lower half lives through it (their FDs and RSS are compared).
                var free = Enumerable.Range(o.Nodes / 2, o.Nodes - o.Nodes / 2).Where(i => !_cut.Contains(i) && !_down.Contains(i)).ToList();
                if (free.Count == 0 || _down.Count > 0) return;
                k = free[_random.Next(free.Count)];
                _down.Add(k);
            }
            try
            {
                var old = _nodes[k];
                double killed = _clock.Elapsed.TotalSeconds;
                await old.KillAsync();
                _ledger.Died(k, old.Epoch);
                await Task.Delay(TimeSpan.FromSeconds(0.5 + _random.NextDouble() * 2.5));
                _nodes[k] = await StartNodeAsync(k, old.Epoch + 1);
                lock (_chaosLock) _kills.Add((k, killed, _clock.Elapsed.TotalSeconds));
            }
            finally
            {
                lock (_chaosLock) _down.Remove(k);
            }
        }

        private async Task RestartBootstrapAsync()
        {
            // One restart at a time: two overlapping restarts would each start a server, the second finding the port taken.
            if (_bootstrap is null || Interlocked.Exchange(ref _bootstrapRestarting, 1) == 1) return;
            try
            {
                await RestartBootstrapOnceAsync(_bootstrap);
            }
            finally
            {
                Volatile.Write(ref _bootstrapRestarting, 0);
            }
        }

        private async Task RestartBootstrapOnceAsync(Child old)
        {
            await old.KillAsync();
            await Task.Delay(TimeSpan.FromSeconds(0.5 + _random.NextDouble() * 1.5));
            // Should the new server fail to start (it must not: the port's last holder is dead), try again every second for
            // a minute, and count it.
            double deadline = _clock.Elapsed.TotalSeconds + 60;
            while (true)
            {
                try
                {
                    _bootstrap = await StartBootstrapAsync();
                    break;
                }
                catch (ChildFailedException) when (_clock.Elapsed.TotalSeconds < deadline)
                {
                    Interlocked.Increment(ref _bootstrapFailedStarts);
                    await Task.Delay(1000);
                }
            }
            Interlocked.Increment(ref _bootstrapRestarts);
        }

        private Task<Child> StartBootstrapAsync() =>
            Child.StartAsync(Ns("boot"), Path.Combine(_folder, "bootstrap.err"), -1, 0, null, o.RuntimeDefaults ? [] : MemoryEnvironment,
                ["soak-bootstrap", "--url", BootstrapUrl, "--db", Path.Combine(_folder, "bootstrap.db")]);

        private Task<Child> StartNodeAsync(int i, int epoch) =>
            Child.StartAsync(Ns($"n{i}"), Path.Combine(_folder, $"node{i}.err"), i, epoch, (line, time) => _ledger.Line(i, epoch, line, time), o.RuntimeDefaults ? [] : MemoryEnvironment,
                ["soak-node", "--index", I(i), "--nodes", I(o.Nodes), "--epoch", I(epoch), "--rate", o.Rate.ToString(CultureInfo.InvariantCulture),
                 "--keepalive", o.KeepAlive.ToString(CultureInfo.InvariantCulture), "--key-base", _keyBase, "--listen", $"/ip4/{Subnet}{I(10 + i)}/tcp/4001", "--bootstrap", BootstrapUrl], _clock);

        private static string I(int n) => n.ToString(CultureInfo.InvariantCulture);

        private async Task CreateLanAsync()
        {
            _hub = await AddNamespaceAsync("hub");
            await Ip("-n", _hub, "link", "add", "br0", "type", "bridge");
            await Ip("-n", _hub, "link", "set", "br0", "up");
            async Task Attach(string name, string port, string address)
            {
                string ns = await AddNamespaceAsync(name);
                await Ip("-n", _hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
                await Ip("-n", _hub, "link", "set", port, "master", "br0");
                await Ip("-n", _hub, "link", "set", port, "up");
                await Ip("-n", ns, "addr", "add", $"{address}/24", "dev", "eth0");
                await Ip("-n", ns, "link", "set", "eth0", "up");
            }
            await Attach("boot", "pb", $"{Subnet}2");
            for (int i = 0; i < o.Nodes; i++) await Attach($"n{i}", $"p{i}", $"{Subnet}{10 + i}");
        }

        private async Task<string> AddNamespaceAsync(string name)
        {
            string ns = Ns(name);
            await Ip("netns", "add", ns);
            _namespaces.Add(ns);
            await Ip("-n", ns, "link", "set", "lo", "up");
            return ns;
        }

        private static async Task Ip(params string[] args)
        {
            var (code, output) = await RunAsync("ip", args);
            if (code != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({code}): {output}");
        }

        private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
        {
            var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in args) info.ArgumentList.Add(a);
            using var p = Process.Start(info)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            return (p.ExitCode, await stdout + await stderr);
        }

        // Namespaces of soak runs whose driver is gone (crashed or killed).
        private static async Task RemoveStaleAsync()
        {
            var (_, list) = await RunAsync("ip", "netns", "list");
            foreach (string line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                string name = line.Split(' ')[0];
                if (!name.StartsWith(Prefix, StringComparison.Ordinal)) continue;
                string[] parts = name[Prefix.Length..].Split('-');
                if (parts.Length < 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
                if (pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}")) continue;
                await RunAsync("ip", "netns", "del", name);
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var n in _nodes) if (n is not null) await n.KillAsync();
            if (_bootstrap is not null) await _bootstrap.KillAsync();
            for (int i = _namespaces.Count - 1; i >= 0; i--) await RunAsync("ip", "netns", "del", _namespaces[i]);
            if (!_keepLogs) Directory.Delete(_folder, recursive: true);
        }
    }

    private sealed class ChildFailedException(string message) : Exception(message);

    /// <summary>A node or the bootstrap server: a process inside a namespace whose stdout lines go to the ledger.</summary>
    private sealed class Child
    {
        private readonly Process _process;
        private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly StreamWriter _errors;

        private Child(Process process, int epoch, StreamWriter errors)
        {
            _process = process;
            Epoch = epoch;
            _errors = errors;
        }

        public int Epoch { get; }

        public int Pid => _process.Id;

        public static async Task<Child> StartAsync(string ns, string errorFile, int index, int epoch, Action<string, double>? onLine, IReadOnlyDictionary<string, string> environment, string[] args, Stopwatch? clock = null)
        {
            var info = new ProcessStartInfo("ip") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in (string[])["netns", "exec", ns]) info.ArgumentList.Add(a);
            string self = Environment.ProcessPath!;
            info.ArgumentList.Add(self);
            if (Path.GetFileNameWithoutExtension(self) == "dotnet") info.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
            foreach (string a in args) info.ArgumentList.Add(a);
            info.Environment["DOTNET_TieredPGO"] = "0";
            foreach (var (name, value) in environment) info.Environment[name] = value;
            var errors = new StreamWriter(errorFile, append: true) { AutoFlush = true };
            var process = new Process { StartInfo = info };
            var child = new Child(process, epoch, errors);
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                if (e.Data.StartsWith("ready ", StringComparison.Ordinal)) child._ready.TrySetResult(e.Data[6..]);
                onLine?.Invoke(e.Data, clock?.Elapsed.TotalSeconds ?? 0);
            };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (errors) errors.WriteLine(e.Data);
            };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            lock (errors) errors.WriteLine($"--- epoch {epoch} pid {process.Id} (index {index})");
            var exited = process.WaitForExitAsync();
            if (await Task.WhenAny(child._ready.Task, exited, Task.Delay(StartTimeout)) != child._ready.Task)
            {
                if (!exited.IsCompleted) await child.KillAsync();
                throw new ChildFailedException($"{string.Join(' ', args.Take(3))} in {ns} " +
                    (exited.IsCompleted ? "exited before it was ready" : $"did not start in {StartTimeout.TotalSeconds:0} s") + $" (see {errorFile})");
            }
            return child;
        }

        public async Task SendAsync(string line)
        {
            try
            {
                await _process.StandardInput.WriteLineAsync(line);
                await _process.StandardInput.FlushAsync();
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException)
            {
            }
        }

        /// <summary>kill -9, then waits until its last stdout line was read.</summary>
        public async Task KillAsync()
        {
            try
            {
                if (!_process.HasExited) _process.Kill();
                await _process.WaitForExitAsync();
            }
            catch (InvalidOperationException)
            {
            }
            lock (_errors) _errors.Dispose();
        }

        /// <summary>Graceful stop (the node reports what it still had queued), kill -9 after 15 s.</summary>
        public async Task QuitAsync()
        {
            await SendAsync("quit");
            try
            {
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            }
            catch (TimeoutException)
            {
                await KillAsync();
            }
        }
    }
}
