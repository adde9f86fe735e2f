using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using P2PNet.Core;
using P2PNet.Protocols.Perf;
using P2PNet.Protocols.Transfer;
using P2PNet.Swarm;

namespace P2PNet.Bench;

/// <summary>
/// `bench transfer`: providers are `p2pnet share` child processes on loopback, the receiver is this process, so its
/// memory is the receiver's alone. Rows, each with its baseline from the same run:
/// 1 GiB from one provider vs /perf download from that provider; 4 providers throttled to 20 MB/s each vs one;
/// 4 unthrottled; bytes fetched again after a kill -9 of `p2pnet get` at half; receiver heap and RSS growth during
/// the 1 GiB fetch; tree hashing vs the raw hash streaming, and the candidate hashes' CPU cost per GiB on one thread.
/// </summary>
internal static class TransferBench
{
    private static (double Receiver, double Provider) Minus((double Receiver, double Provider) a, (double Receiver, double Provider) b) =>
        (a.Receiver - b.Receiver, a.Provider - b.Provider);

    public static async Task<int> RunAsync(string[] args)
    {
        int mib = Arg(args, "--mib", 1024);
        int throttledMib = Arg(args, "--throttled-mib", 160);
        // --rows hash,one,four,throttled,kill,js (default all): a subset for quick iterations.
        int at = Array.IndexOf(args, "--rows");
        var rows = new HashSet<string>(at >= 0 && at + 1 < args.Length ? args[at + 1].Split(',') : ["hash", "one", "four", "throttled", "kill", "js"]);
        long size = (long)mib << 20;
        string dir = Directory.CreateTempSubdirectory("p2pnet-bench-transfer-").FullName;
        var children = new List<Process>();
        try
        {
            string cli = CliDll();
            string big = Path.Combine(dir, "big.bin");
            WriteRandom(big, size);
            string small = Path.Combine(dir, "small.bin");
            if (rows.Contains("throttled")) WriteRandom(small, (long)throttledMib << 20);

            // Tree hashing vs the raw hash over the same bytes (page cache warm after writing).
            if (rows.Contains("hash")) HashRows(big, size, Arg(args, "--rounds", 5));
            if (!rows.Overlaps(["one", "four", "throttled", "kill", "js"])) return 0;

            using var identity = Identity.Generate();
            await using var host = new SwarmHost(identity);
            var perf = new PerfService(host);
            // --groups-per-request N / --requests N tune the fetch (defaults: TransferOptions').
            var fetchOptions = new TransferOptions
            {
                GroupsPerRequest = Arg(args, "--groups-per-request", TransferOptions.Default.GroupsPerRequest),
                RequestsPerProvider = Arg(args, "--requests", TransferOptions.Default.RequestsPerProvider),
            };
            using var transfer = new TransferService(host, fetchOptions);

            var (one, oneTicket) = await StartShareAsync(cli, big, null, children);
            var oneConn = await host.DialAsync(oneTicket.Addresses[0]);
            // Warm-up, untimed: a short /perf run and a short fetch, so both timed rows run tiered-up code (the transfer's
            // hashing is managed SIMD, slow until the JIT's second tier replaces it).
            await perf.RunAsync(oneConn, 0, 64UL << 20);
            await transfer.FetchAsync(oneTicket.Id, oneTicket.Size, [oneConn], Path.Combine(dir, "warm.bin"),
                new FetchOptions { Secret = oneTicket.Secret, Overwrite = true }, null, new CancellationTokenSource(TimeSpan.FromSeconds(3)).Token)
                .ContinueWith(_ => { }, TaskScheduler.Default);
            foreach (string leftover in Directory.GetFiles(dir, "warm.bin*")) File.Delete(leftover);

            var cpu = Cpu(one);
            var switches = Switches(one);
            var perfResult = await perf.RunAsync(oneConn, 0, (ulong)size);
            var perfCpu = Minus(Cpu(one), cpu);
            var perfSwitches = Minus(Switches(one), switches);
            double perfRate = perfResult.DownloadBytesPerSecond;
            Row("perf download (baseline)", size, perfResult.DownloadTime, CpuNote(perfCpu, size) + SwitchNote(perfSwitches, size));

            if (!rows.Overlaps(["one", "four", "throttled", "kill", "js"])) return 0;
            cpu = Cpu(one);
            switches = Switches(one);
            var (rate1, time1, heap, rss) = await FetchAsync(transfer, oneTicket, [oneConn], Path.Combine(dir, "out1.bin"), measureMemory: true);
            var transferCpu = Minus(Cpu(one), cpu);
            var transferSwitches = Minus(Switches(one), switches);
            Row("transfer 1 provider", size, time1, $"{rate1 / perfRate:0.00}x of perf (aim >= 0.8x) " + CpuNote(transferCpu, size) + SwitchNote(transferSwitches, size)
                + string.Create(CultureInfo.InvariantCulture, $"; CPU per byte {(transferCpu.Receiver + transferCpu.Provider) / (perfCpu.Receiver + perfCpu.Provider):0.00}x perf's"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"receiver memory during the fetch: managed heap growth {heap / 1048576.0:0.0} MiB, RSS growth {rss / 1048576.0:0.0} MiB (aim <= 64 MiB each)"));
            File.Delete(Path.Combine(dir, "out1.bin"));
            await FloorRowAsync(big, size, dir, perfCpu, transferCpu, rate1 / perfRate);

            if (rows.Contains("four"))
            {
                // Four providers of the same file, unthrottled (the same process serves 1 of them).
                var conns = new List<Connection> { oneConn };
                for (int i = 0; i < 3; i++)
                {
                    var (_, t) = await StartShareAsync(cli, big, null, children, identity.PeerId);
                    conns.Add(await host.DialAsync(t.Addresses[0]));
                }
                var (rate4, time4, _, _) = await FetchAsync(transfer, oneTicket, conns, Path.Combine(dir, "out4.bin"), measureMemory: false);
                Row("transfer 4 providers, unthrottled", size, time4, $"{rate4 / rate1:0.00}x of 1 provider");
                File.Delete(Path.Combine(dir, "out4.bin"));
            }

            if (rows.Contains("throttled"))
            {
                // Throttled: one vs four providers at 20 MB/s each (the tree is made first so the four do not race to write it).
                using (await TreeFile.CreateOrOpenAsync(small, small + TreeFile.Suffix))
                {
                }
                var throttled = new List<Connection>();
                TransferTicket? smallTicket = null;
                for (int i = 0; i < 4; i++)
                {
                    var (_, t) = await StartShareAsync(cli, small, 20_000_000, children, identity.PeerId);
                    smallTicket ??= t;
                    throttled.Add(await host.DialAsync(t.Addresses[0]));
                }
                var (rateT1, timeT1, _, _) = await FetchAsync(transfer, smallTicket!, throttled.Take(1).ToList(), Path.Combine(dir, "t1.bin"), false);
                Row("transfer 1 provider at 20 MB/s (baseline)", smallTicket!.Size, timeT1);
                var (rateT4, timeT4, _, _) = await FetchAsync(transfer, smallTicket, throttled, Path.Combine(dir, "t4.bin"), false);
                Row("transfer 4 providers at 20 MB/s each", smallTicket.Size, timeT4, $"{rateT4 / rateT1:0.00}x of 1 (aim >= 3.5x)");
            }

            if (rows.Contains("kill")) await KillAndResumeAsync(cli, oneTicket, Path.Combine(dir, "killed.bin"));
            if (rows.Contains("js")) await JsPerfRowsAsync(host, children);
            return 0;
        }
        finally
        {
            foreach (var child in children)
            {
                try
                {
                    child.Kill();
                    await child.WaitForExitAsync();
                }
                catch (InvalidOperationException)
                {
                }
                child.Dispose();
            }
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<(double Rate, TimeSpan Time, long Heap, long Rss)> FetchAsync(TransferService transfer, TransferTicket ticket,
        List<Connection> providers, string target, bool measureMemory)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long heap0 = GC.GetTotalMemory(true);
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        long rss0 = self.WorkingSet64;
        long heapPeak = heap0, rssPeak = rss0;
        using var stop = new CancellationTokenSource();
        var sampler = measureMemory ? Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
            while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
            {
                heapPeak = Math.Max(heapPeak, GC.GetTotalMemory(false));
                self.Refresh();
                rssPeak = Math.Max(rssPeak, self.WorkingSet64);
            }
        }) : Task.CompletedTask;
        var watch = Stopwatch.StartNew();
        await transfer.FetchAsync(ticket.Id, ticket.Size, providers, target, new FetchOptions { Secret = ticket.Secret, Overwrite = true });
        watch.Stop();
        await stop.CancelAsync();
        try
        {
            await sampler;
        }
        catch (OperationCanceledException)
        {
        }
        return (ticket.Size / watch.Elapsed.TotalSeconds, watch.Elapsed, heapPeak - heap0, rssPeak - rss0);
    }

    private static async Task KillAndResumeAsync(string cli, TransferTicket ticket, string target)
    {
        // The fetch runs in a `p2pnet get` child, killed with SIGKILL once half of the groups are verified.
        string bits = target + ".partial.bits";
        long groups = MerkleTree.GroupCount(ticket.Size);
        using (var first = Start(cli, ["get", ticket.ToString(), "-o", target]))
        {
            var watch = Stopwatch.StartNew();
            while (VerifiedGroups(bits) < groups / 2 && watch.Elapsed < TimeSpan.FromMinutes(5)) await Task.Delay(5);
            first.Kill();
            await first.WaitForExitAsync();
        }
        long verified = VerifiedGroups(bits);
        using var second = Start(cli, ["get", ticket.ToString(), "-o", target]);
        string err = await second.StandardError.ReadToEndAsync();
        await second.WaitForExitAsync();
        var match = System.Text.RegularExpressions.Regex.Match(err, @"resumed (\d+) bytes, fetched (\d+) bytes");
        long resumed = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        long fetched = long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
        long beyond = resumed + fetched - ticket.Size;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kill -9 at {100.0 * verified / groups:0}%: resumed {resumed} bytes, fetched {fetched}, re-fetched beyond the verified groups {beyond} bytes (aim <= 64 KiB)"));
        File.Delete(target);
    }

    // js-libp2p's perf client (interop/js/perf.mjs) against this process's /perf, and against a js perf server.
    private static async Task JsPerfRowsAsync(SwarmHost host, List<Process> children)
    {
        string js = Path.Combine(RepoRoot(), "interop", "js");
        if (!Directory.Exists(Path.Combine(js, "node_modules")))
        {
            Console.WriteLine("js perf: skipped (run npm ci in interop/js)");
            return;
        }
        const long Bytes = 256L << 20;
        var us = host.ListenAddresses.Count > 0 ? host.ListenAddresses[0] : await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        double toUs = await JsClientAsync(js, us.WithPeerId(host.LocalPeerId).ToString(), Bytes);
        var server = StartNode(js, ["server"]);
        children.Add(server);
        string listen = (await server.StandardOutput.ReadLineAsync())!["LISTEN ".Length..];
        double toJs = await JsClientAsync(js, listen, Bytes);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"js perf client, 256 MiB download: from P2PNet {toUs / 1e6:0.0} MB/s, from js-libp2p {toJs / 1e6:0.0} MB/s ({toUs / toJs:0.00}x)"));
    }

    private static async Task<double> JsClientAsync(string js, string target, long bytes)
    {
        using var client = StartNode(js, ["client", target, "--upload", "0", "--download", bytes.ToString(CultureInfo.InvariantCulture)]);
        string output = await client.StandardOutput.ReadToEndAsync();
        await client.WaitForExitAsync();
        var m = System.Text.RegularExpressions.Regex.Match(output, @"download_s=([\d.]+)");
        return m.Success ? bytes / double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : throw new InvalidOperationException("js perf failed: " + output);
    }

    private static Process StartNode(string js, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("node") { WorkingDirectory = js, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (string a in (string[])["--import", "./polyfill.mjs", "perf.mjs", .. args]) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    private static string RepoRoot() => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));

    private static void HashRows(string path, long size, int rounds)
    {
        // Warm-up, untimed: every hash path tiered up before timing (the JIT's first tier of BLAKE3's SIMD is slow).
        byte[] digest = new byte[32];
        byte[] warm = new byte[64 << 20];
        for (int i = 0; i < 3; i++)
        {
            BlakeStream(warm, digest);
            BlakeLeaves(warm, digest);
            ShaLeaves(warm, digest);
            ShaStream(warm, digest);
            MerkleTree.ComputeId(warm);
        }

        // The hashes alone, in memory on one thread, interleaved round by round: CPU seconds per GiB does not depend on
        // what else the machine runs (the rates do).
        int memory = (int)Math.Min(size, 256L << 20);
        byte[] bytes = GC.AllocateUninitializedArray<byte>(memory);
        using (var file = File.OpenRead(path)) file.ReadExactly(bytes);
        double gib = memory / 1073741824.0;
        var names = new[] { "SHA-256 16 KiB leaves (SHA256.HashData)", "BLAKE3 16 KiB leaves (Hasher.Hash)", "SHA-256 streaming (IncrementalHash)",
            "BLAKE3 streaming (Hasher.Update)", "the tree (MerkleTree.ComputeId)" };
        var work = new Action<byte[], byte[]>[] { ShaLeaves, BlakeLeaves, ShaStream, BlakeStream, (b, _) => MerkleTree.ComputeId(b) };
        var cpu = names.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int k = 0; k < work.Length; k++)
            {
                double before = ProcessCpuSeconds();
                work[k](bytes, digest);
                cpu[k].Add((ProcessCpuSeconds() - before) / gib);
            }
        Console.WriteLine($"hashing {memory >> 20} MiB in memory, one thread, CPU s per GiB, {rounds} interleaved rounds: median (min-max) [rounds]");
        for (int k = 0; k < names.Length; k++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {names[k],-42} {Median(cpu[k]):0.000} ({cpu[k].Min():0.000}-{cpu[k].Max():0.000}) [{string.Join(' ', cpu[k].Select(c => c.ToString("0.000", CultureInfo.InvariantCulture)))}]"));
        double rawMedian = Median(cpu[MerkleTree.HashName == "SHA-256" ? 2 : 3]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  tree vs raw streaming {MerkleTree.HashName}, CPU per byte: {rawMedian / Median(cpu[4]):0.00}x the raw hash's throughput"));

        // From the page cache, wall clock: TreeFile's build (leaves on every core, levels, the tree file written) vs one
        // stream of the raw hash (1 MiB reads), interleaved.
        var tree = new List<double>();
        var raw = new List<double>();
        byte[] buffer = new byte[1 << 20];
        string treePath = path + TreeFile.Suffix;
        for (int r = 0; r < rounds; r++)
        {
            var watch = Stopwatch.StartNew();
            using (var file = File.OpenRead(path))
            using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            using (var blake = Blake3.Hasher.New())
            {
                int n;
                while ((n = file.Read(buffer)) > 0)
                {
                    if (MerkleTree.HashName == "SHA-256") sha.AppendData(buffer, 0, n);
                    else blake.Update(buffer.AsSpan(0, n));
                }
            }
            raw.Add(size / watch.Elapsed.TotalSeconds);
            File.Delete(treePath);
            watch.Restart();
            using (TreeFile.CreateOrOpenAsync(path, treePath).GetAwaiter().GetResult())
            {
            }
            tree.Add(size / watch.Elapsed.TotalSeconds);
            File.Delete(treePath);
        }
        var ratios = tree.Zip(raw, (t, w) => t / w).ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"hashing from the file, wall clock: tree {Median(tree) / 1e6:0} MB/s, raw streaming {MerkleTree.HashName} {Median(raw) / 1e6:0} MB/s; tree/raw median {Median(ratios):0.00}x ({ratios.Min():0.00}-{ratios.Max():0.00}) (aim >= 0.8x)"));
    }

    private static void ShaLeaves(byte[] data, byte[] digest)
    {
        for (int o = 0; o < data.Length; o += MerkleTree.GroupSize) SHA256.HashData(data.AsSpan(o, Math.Min(MerkleTree.GroupSize, data.Length - o)), digest);
    }

    private static void BlakeLeaves(byte[] data, byte[] digest)
    {
        for (int o = 0; o < data.Length; o += MerkleTree.GroupSize) Blake3.Hasher.Hash(data.AsSpan(o, Math.Min(MerkleTree.GroupSize, data.Length - o)), digest);
    }

    private static void ShaStream(byte[] data, byte[] digest)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int o = 0; o < data.Length; o += 1 << 20) sha.AppendData(data.AsSpan(o, Math.Min(1 << 20, data.Length - o)));
        sha.GetHashAndReset(digest);
    }

    private static void BlakeStream(byte[] data, byte[] digest)
    {
        using var hasher = Blake3.Hasher.New();
        for (int o = 0; o < data.Length; o += 1 << 20) hasher.Update(data.AsSpan(o, Math.Min(1 << 20, data.Length - o)));
        hasher.Finalize(digest);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>
    /// The floor of the one-provider row, from the same run: the transfer's own work beyond /perf's, without the network.
    /// The provider side serves every range to <see cref="Stream.Null"/> (file reads and framing). The receiver side
    /// verifies and writes every range from memory (hashing, proofs, the partial file, its bits and the flush-and-drop
    /// step, counted whichever thread runs it), less a pass that only builds the same responses and reads them back (the
    /// copy /perf's reader also makes). With that work added to /perf's CPU per byte, the transfer could expect at most
    /// perf / (perf + extra) of /perf's rate while it uses the machine as /perf does: an estimate, not a strict bound
    /// (a transfer that keeps both cores busier than /perf can pass it).
    /// </summary>
    private static async Task FloorRowAsync(string big, long size, string dir, (double Receiver, double Provider) perfCpu,
        (double Receiver, double Provider) transferCpu, double ratio)
    {
        using var tree = await TreeFile.CreateOrOpenAsync(big, big + TreeFile.Suffix);
        using var data = File.OpenHandle(big);
        long groups = (size + MerkleTree.GroupSize - 1) / MerkleTree.GroupSize;
        int per = TransferOptions.Default.GroupsPerRequest;
        double gib = size / 1073741824.0;
        var response = new MemoryStream();
        byte[] drain = new byte[64 * 1024];
        // Untimed: the serving side has not run in this process yet (the real provider is a child process).
        await TransferProtocol.SendRangeAsync(response, tree, data, 0, Math.Min(per, groups));

        var cpu = Environment.CpuUsage.TotalTime;
        for (long g = 0; g < groups; g += per)
            await TransferProtocol.SendRangeAsync(Stream.Null, tree, data, g, Math.Min(per, groups - g));
        double provider = (Environment.CpuUsage.TotalTime - cpu).TotalSeconds / gib;

        // Responses built and read back, with nothing verified or written: subtracted from the pass below.
        cpu = Environment.CpuUsage.TotalTime;
        for (long g = 0; g < groups; g += per)
        {
            response.SetLength(0);
            await TransferProtocol.SendRangeAsync(response, tree, data, g, Math.Min(per, groups - g));
            response.Position = 0;
            while (response.Read(drain) > 0) { }
        }
        var building = Environment.CpuUsage.TotalTime - cpu;

        string target = Path.Combine(dir, "floor.bin");
        cpu = Environment.CpuUsage.TotalTime;
        var partial = PartialDownload.Open(target, tree.Id, size);
        try
        {
            for (long g = 0; g < groups; g += per)
            {
                long count = Math.Min(per, groups - g);
                response.SetLength(0);
                await TransferProtocol.SendRangeAsync(response, tree, data, g, count);
                response.Position = 0;
                await TransferProtocol.ReceiveRangeAsync(response, tree.Id, size, g, count, TransferService.WriteBatchGroups,
                    (first, n, bytes) =>
                    {
                        partial.WriteGroups(first, n, bytes.Span);
                        return ValueTask.CompletedTask;
                    }, CancellationToken.None);
            }
        }
        finally
        {
            await partial.DisposeAsync(); // waits for the last flush-and-drop step, which counts
        }
        double receiver = (Environment.CpuUsage.TotalTime - cpu - building).TotalSeconds / gib;
        File.Delete(target + PartialDownload.Suffix);
        File.Delete(target + PartialDownload.BitsSuffix);

        // perfCpu and transferCpu are seconds for the whole size: per GiB, as the extras.
        double perfPerGib = (perfCpu.Receiver + perfCpu.Provider) / gib;
        double floor = perfPerGib / (perfPerGib + provider + receiver);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"floor of the 1-provider row: the transfer's own work beyond /perf's, CPU per GiB without the network: provider {provider:0.00} s, receiver {receiver:0.00} s; "
            + $"at /perf's use of the machine about {floor:0.00}x of perf; this run {ratio:0.00}x ({ratio / floor:0.00} of that); "
            + $"measured extra CPU per GiB: provider {(transferCpu.Provider - perfCpu.Provider) / gib:0.00} s, receiver {(transferCpu.Receiver - perfCpu.Receiver) / gib:0.00} s"));
    }

    // The process's CPU time: the hashing runs on this one thread with nothing else running in the process yet.
    private static double ProcessCpuSeconds()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }

    private static async Task<(Process Process, TransferTicket Ticket)> StartShareAsync(string cli, string file, long? maxRate, List<Process> children, PeerId? allow = null)
    {
        List<string> args = ["share", file, "--listen", "/ip4/127.0.0.1/tcp/0"];
        // Each share has its own secret, so extra providers of one ticket let the receiver in by PeerId.
        if (allow is not null) args.AddRange(["--allow", allow.ToString()]);
        if (maxRate is { } r) args.AddRange(["--max-rate", r.ToString(CultureInfo.InvariantCulture)]);
        var process = Start(cli, args);
        children.Add(process);
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("get: p2pnet get ", StringComparison.Ordinal) && TransferTicket.TryParse(line[16..], out var ticket, out _))
                return (process, ticket);
        }
        throw new InvalidOperationException("p2pnet share printed no ticket: " + await process.StandardError.ReadToEndAsync());
    }

    private static Process Start(string cli, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(cli);
        foreach (string a in args) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    private static string CliDll()
    {
        string baseDir = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var tfm = new DirectoryInfo(baseDir);
        string root = RepoRoot();
        string dll = Path.Combine(root, "src", "P2PNet.Cli", "bin", tfm.Parent!.Name, tfm.Name, "P2PNet.Cli.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("build the solution first (P2PNet.Cli.dll)", dll);
    }

    private static void WriteRandom(string path, long size)
    {
        using var file = File.Create(path);
        byte[] buffer = new byte[1 << 20];
        for (long left = size; left > 0; left -= buffer.Length)
        {
            RandomNumberGenerator.Fill(buffer);
            file.Write(buffer, 0, (int)Math.Min(buffer.Length, left));
        }
    }

    private static long VerifiedGroups(string bitsPath)
    {
        try
        {
            using var file = new FileStream(bitsPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            byte[] bytes = new byte[file.Length];
            file.ReadExactly(bytes);
            const int Header = 8 + ContentId.EncodedSize + 8;
            return bytes.Length <= Header ? 0 : bytes.Skip(Header).Sum(b => BitOperations.PopCount(b));
        }
        catch (IOException)
        {
            return 0;
        }
    }

    // CPU seconds of the receiver (this process) and of the provider child: a load-independent cost, unlike the rate.
    private static (double Receiver, double Provider) Cpu(Process provider)
    {
        provider.Refresh();
        using var self = Process.GetCurrentProcess();
        return (self.TotalProcessorTime.TotalSeconds, provider.TotalProcessorTime.TotalSeconds);
    }

    // Voluntary context switches (a thread blocking: parking, waiting) of every thread of both processes (Linux /proc; zero elsewhere): a count of thread wake-ups and
    // parkings that, unlike CPU seconds, hardly depends on what else the shared machine runs.
    private static (double Receiver, double Provider) Switches(Process provider) => (SwitchesOf(Environment.ProcessId), SwitchesOf(provider.Id));

    internal static double SwitchesOf(int pid)
    {
        double total = 0;
        try
        {
            foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    foreach (string line in File.ReadLines(Path.Combine(task, "status")))
                        if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal)) // waits only: preemptions depend on the load
                            total += double.Parse(line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return total;
    }

    private static string SwitchNote((double Receiver, double Provider) switches, long bytes) => string.Create(CultureInfo.InvariantCulture,
        $" [context switches per GiB: receiver {switches.Receiver / (bytes / 1073741824.0) / 1000:0.0}k, provider {switches.Provider / (bytes / 1073741824.0) / 1000:0.0}k]");

    private static string CpuNote((double Receiver, double Provider) cpu, long bytes) => string.Create(CultureInfo.InvariantCulture,
        $"[CPU per GiB: receiver {cpu.Receiver / (bytes / 1073741824.0):0.00} s, provider {cpu.Provider / (bytes / 1073741824.0):0.00} s]");

    private static void Row(string name, long bytes, TimeSpan time, string? note = null) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-44} {bytes / 1048576.0,8:0} MiB {time.TotalSeconds,7:0.00} s {bytes / time.TotalSeconds / 1e6,8:0.0} MB/s {note}"));

    private static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
