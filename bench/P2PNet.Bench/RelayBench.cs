using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using P2PNet.Core;
using P2PNet.Protocols.Perf;
using P2PNet.Protocols.Relay;
using P2PNet.Swarm;

namespace P2PNet.Bench;

/// <summary>
/// Circuit relay v2: /perf upload throughput through our relay against a direct connection in the same run (rounds
/// interleaved, limits off), and the relay service's memory per reservation and per circuit, measured in a child
/// process that runs only the relay (managed heap after a full GC, and RSS).
/// </summary>
internal static class RelayBench
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(string[] args)
    {
        int mib = Arg(args, "--mib", 64);
        int rounds = Arg(args, "--rounds", 5);
        int reservations = Arg(args, "--reservations", 100);
        int circuits = Arg(args, "--circuits", 16);
        Console.WriteLine($"P2PNet relay benchmark: loopback, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {mib} MiB per transfer, {rounds} rounds");
        Console.WriteLine($"load average before: {LoadAverage()}");
        await ThroughputAsync((ulong)mib * 1024 * 1024, rounds);
        await MemoryAsync(reservations, circuits);
        Console.WriteLine($"load average after: {LoadAverage()}");
        return 0;
    }

    private static async Task ThroughputAsync(ulong bytes, int rounds)
    {
        var hosts = new List<SwarmHost>();
        try
        {
            var relayHost = Host(hosts);
            var relayAddress = (await relayHost.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(relayHost.LocalPeerId);
            await using var relay = new RelayService(relayHost, new RelayServiceOptions { MaxCircuitBytes = 0, MaxCircuitDuration = TimeSpan.Zero });
            var target = Host(hosts);
            _ = new PerfService(target);
            var targetAddress = await target.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
            await using var targetClient = new RelayClient(target);
            await targetClient.ReserveAsync(relayAddress);
            // Two dialers, so that the relayed connection and the direct one are each the only one of their host.
            var directDialer = Host(hosts);
            var relayedDialer = Host(hosts);
            await using var relayedClient = new RelayClient(relayedDialer);
            var direct = await directDialer.DialAsync(targetAddress.WithPeerId(target.LocalPeerId));
            var relayed = await relayedDialer.DialAsync(Multiaddr.Parse($"{relayAddress}/p2p-circuit/p2p/{target.LocalPeerId}"));
            var perfDirect = new PerfService(directDialer);
            var perfRelayed = new PerfService(relayedDialer);
            // Warm-up (JIT, windows), not counted.
            await perfDirect.RunAsync(direct, bytes / 8, 0);
            await perfRelayed.RunAsync(relayed, bytes / 8, 0);
            var d = new List<double>();
            var r = new List<double>();
            for (int i = 0; i < rounds; i++)
            {
                // Interleaved, and the order alternates, so that load drifts hit both alike.
                if (i % 2 == 0)
                {
                    d.Add((await perfDirect.RunAsync(direct, bytes, 0)).UploadBytesPerSecond / (1 << 20));
                    r.Add((await perfRelayed.RunAsync(relayed, bytes, 0)).UploadBytesPerSecond / (1 << 20));
                }
                else
                {
                    r.Add((await perfRelayed.RunAsync(relayed, bytes, 0)).UploadBytesPerSecond / (1 << 20));
                    d.Add((await perfDirect.RunAsync(direct, bytes, 0)).UploadBytesPerSecond / (1 << 20));
                }
            }
            Console.WriteLine($"relayed connection limited: {relayed.Info.IsLimited} (limits off)");
            Console.WriteLine($"direct  MiB/s: {string.Join(' ', d.Select(F))}  median {F(Median(d))}  spread {F(d.Min())}-{F(d.Max())}");
            Console.WriteLine($"relayed MiB/s: {string.Join(' ', r.Select(F))}  median {F(Median(r))}  spread {F(r.Min())}-{F(r.Max())}");
            Console.WriteLine($"relayed/direct (medians): {Median(r) / Median(d):P0}");
        }
        finally
        {
            foreach (var host in hosts) await host.DisposeAsync();
        }
    }

    private static async Task MemoryAsync(int reservations, int circuits)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") info.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
        info.ArgumentList.Add("relay-server");
        info.ArgumentList.Add("--capacity");
        info.ArgumentList.Add((reservations + 2 * circuits + 16).ToString(CultureInfo.InvariantCulture));
        using var child = Process.Start(info)!;
        var hosts = new List<SwarmHost>();
        var clients = new List<RelayClient>();
        try
        {
            var relayAddress = Multiaddr.Parse((await ReadAsync(child, "READY "))[6..]);
            var (heap0, rss0) = await MemoryOfAsync(child);
            for (int i = 0; i < reservations; i++)
            {
                var host = Host(hosts);
                var client = new RelayClient(host);
                clients.Add(client);
                await client.ReserveAsync(relayAddress);
            }
            var (heap1, rss1) = await MemoryOfAsync(child);
            var connections = new List<Connection>();
            for (int i = 0; i < circuits; i++)
            {
                var dialer = Host(hosts);
                clients.Add(new RelayClient(dialer));
                connections.Add(await dialer.DialAsync(Multiaddr.Parse($"{relayAddress}/p2p-circuit/p2p/{hosts[i].LocalPeerId}")));
            }
            // Each circuit carries a ping, so both copy loops have run.
            foreach (var c in connections) await c.PingMuxerAsync();
            var (heap2, rss2) = await MemoryOfAsync(child);
            Console.WriteLine($"relay process: baseline heap {heap0 / 1024.0:F0} KiB, RSS {rss0 / 1048576.0:F1} MiB");
            Console.WriteLine($"{reservations} reservations (each with its connection): heap +{(heap1 - heap0) / 1024.0:F0} KiB ({(heap1 - heap0) / (double)reservations / 1024:F1} KiB each), " +
                              $"RSS +{(rss1 - rss0) / 1048576.0:F1} MiB ({(rss1 - rss0) / (double)reservations / 1024:F1} KiB each)");
            Console.WriteLine($"{circuits} circuits (each with the dialer's connection): heap +{(heap2 - heap1) / 1024.0:F0} KiB ({(heap2 - heap1) / (double)circuits / 1024:F1} KiB each), " +
                              $"RSS +{(rss2 - rss1) / 1048576.0:F1} MiB ({(rss2 - rss1) / (double)circuits / 1024:F1} KiB each)");
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
            foreach (var host in hosts) await host.DisposeAsync();
            try
            {
                await child.StandardInput.WriteLineAsync("quit");
                await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception) when (!child.HasExited)
            {
                child.Kill();
            }
        }
    }

    /// <summary>The child: a relay only, answering "mem" with its managed heap (after a full GC) and RSS.</summary>
    public static async Task<int> ServerAsync(string[] args)
    {
        int capacity = Arg(args, "--capacity", 256);
        await using var host = new SwarmHost(Identity.Generate(), new SwarmOptions { MaxConnections = capacity * 2 });
        var address = (await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(host.LocalPeerId);
        await using var relay = new RelayService(host, new RelayServiceOptions
        {
            MaxReservations = capacity,
            MaxReservationsPerIp = capacity,
            MaxReservationRequestsPerMinutePerIp = capacity * 4,
            MaxCircuits = capacity,
        });
        Console.WriteLine($"READY {address}");
        while (await Console.In.ReadLineAsync() is { } line && line != "quit")
        {
            if (line != "mem") continue;
            long heap = GC.GetTotalMemory(forceFullCollection: true);
            using var self = Process.GetCurrentProcess();
            Console.WriteLine($"MEM {heap} {self.WorkingSet64}");
        }
        return 0;
    }

    private static async Task<(long Heap, long Rss)> MemoryOfAsync(Process child)
    {
        // Settle: let connection setup work finish before measuring.
        await Task.Delay(500);
        await child.StandardInput.WriteLineAsync("mem");
        await child.StandardInput.FlushAsync();
        var parts = (await ReadAsync(child, "MEM ")).Split(' ');
        return (long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    private static async Task<string> ReadAsync(Process child, string prefix)
    {
        using var timeout = new CancellationTokenSource(StepTimeout);
        while (await child.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            if (line.StartsWith(prefix, StringComparison.Ordinal)) return line;
        throw new InvalidOperationException($"relay child ended before '{prefix}'");
    }

    private static SwarmHost Host(List<SwarmHost> hosts)
    {
        var host = new SwarmHost(Identity.Generate());
        hosts.Add(host);
        return host;
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string F(double value) => value.ToString("F1", CultureInfo.InvariantCulture);

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
}
