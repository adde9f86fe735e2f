using System.Globalization;

namespace P2PNet.Bench;

/// <summary>
/// <c>wire</c>: the secure wire against its baselines, all on loopback in this one run, in interleaved rounds:
/// bulk one-way throughput of plain framed TCP, SslStream TLS 1.3 (mutual ECDSA P-256) and one yamux stream on a
/// Noise connection, with the crypto limit (in-process ChaCha20-Poly1305 of 64 KiB frames) and the serial limit
/// 1/(1/crypto + 1/tcp); framed ping-pong round trips of TCP, TLS and the secure stream at 64 B, 1 KiB and 64 KiB;
/// and secure setups per second against full TLS 1.3 handshakes, as the median of paired rounds.
/// Options: --mib N (bulk bytes per run), --rounds R (bulk rounds), --rtt K (round trips per size),
/// --setup-rounds P (paired setup rounds), --seconds S (length of one setup round), --only bulk,rtt,setups (a subset; noise: only the Noise + yamux bulk rows, for profiling).
/// </summary>
internal static class WireBench
{
    private static readonly int[] Sizes = [64, 1024, 64 * 1024];

    public static async Task<int> RunAsync(string[] args)
    {
        int mib = 1024, rounds = 3, rtt = 2000, setupRounds = 6;
        double setupSeconds = 1;
        string only = "bulk,rtt,setups";
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--mib") mib = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            if (args[i] == "--rounds") rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            if (args[i] == "--rtt") rtt = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            if (args[i] == "--setup-rounds") setupRounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            if (args[i] == "--seconds") setupSeconds = double.Parse(args[i + 1], CultureInfo.InvariantCulture);
            if (args[i] == "--only") only = args[i + 1];
        }
        long bytes = (long)mib * 1024 * 1024;
        Console.WriteLine($"P2PNet wire benchmark: loopback, {Environment.ProcessorCount} cores, .NET {Environment.Version}, load average {LoadAverage()}");
        Console.WriteLine("figures are median (min-max) over interleaved rounds; every ratio is per round against the same round's baseline");

        string[] parts = only.Split(',');
        if (parts.Contains("bulk")) await BulkAsync(bytes, rounds);
        if (parts.Contains("noise")) await NoiseOnlyAsync(bytes, rounds);
        if (parts.Contains("rtt")) await RoundTripsAsync(rtt);
        if (parts.Contains("setups")) await SetupsAsync(setupRounds, TimeSpan.FromSeconds(setupSeconds));
        Console.WriteLine($"load average at the end: {LoadAverage()}");
        return 0;
    }

    /// <summary>Bulk one-way: crypto limit, TCP, TLS, Noise+yamux per round; prints medians and per-round ratios.</summary>
    internal static async Task<double> BulkAsync(long bytes, int rounds)
    {
        Console.WriteLine();
        Console.WriteLine($"bulk one-way, {bytes / (1024 * 1024)} MiB per run, {rounds} rounds, MB/s");
        var crypto = new List<double>();
        var tcp = new List<double>();
        var tls = new List<double>();
        var noise = new List<double>();
        var tlsCpu = new List<double>();
        var noiseCpu = new List<double>();
        var tcpCpu = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            crypto.Add(Baselines.CryptoLimit(Math.Min(bytes, 512L * 1024 * 1024)));
            tcp.Add(await CpuAsync(() => ThroughputBench.PlainTcpAsync(bytes), bytes, tcpCpu));
            tls.Add(await CpuAsync(() => ThroughputBench.SslStreamAsync(bytes), bytes, tlsCpu));
            noise.Add(await CpuAsync(() => ThroughputBench.NoiseYamuxAsync(bytes), bytes, noiseCpu));
        }
        var serial = crypto.Zip(tcp, Baselines.SerialLimit).ToList();
        Console.WriteLine($"  {"crypto limit (ChaCha20-Poly1305 enc+dec, 64 KiB)",-52}{Baselines.Spread(crypto, "0"),22}  vs TCP {Baselines.Spread(Ratios(crypto, tcp), "0.00")}x");
        Console.WriteLine($"  {"plain framed TCP",-52}{Baselines.Spread(tcp, "0"),22}");
        Console.WriteLine($"  {"serial limit 1/(1/crypto + 1/tcp)",-52}{Baselines.Spread(serial, "0"),22}  vs TCP {Baselines.Spread(Ratios(serial, tcp), "0.00")}x");
        Console.WriteLine($"  {"SslStream TLS 1.3 (mutual ECDSA P-256)",-52}{Baselines.Spread(tls, "0"),22}  vs serial limit {Baselines.Spread(Ratios(tls, serial), "0.00")}x");
        Console.WriteLine($"  {"Noise + yamux stream",-52}{Baselines.Spread(noise, "0"),22}  vs TCP {Baselines.Spread(Ratios(noise, tcp), "0.00")}x");
        Console.WriteLine($"  CPU time per MB (both sides, this process): TCP {Baselines.Spread(tcpCpu, "0")} us, TLS {Baselines.Spread(tlsCpu, "0")} us, Noise+yamux {Baselines.Spread(noiseCpu, "0")} us, Noise+yamux / TLS {Baselines.Spread(Ratios(noiseCpu, tlsCpu), "0.00")}x");
        Aim("Noise+yamux / SslStream TLS 1.3", Ratios(noise, tls), 1.3);
        Aim("Noise+yamux / serial limit", Ratios(noise, serial), 0.85);
        return Baselines.Median(noise);
    }

    /// <summary>Only the Noise + yamux bulk rows (for profiling): MB/s and CPU per MB of each round.</summary>
    private static async Task NoiseOnlyAsync(long bytes, int rounds)
    {
        var noise = new List<double>();
        var cpu = new List<double>();
        for (int r = 0; r < rounds; r++) noise.Add(await CpuAsync(() => ThroughputBench.NoiseYamuxAsync(bytes), bytes, cpu));
        Console.WriteLine($"  {"Noise + yamux stream",-52}{Baselines.Spread(noise, "0"),22}  CPU per MB {Baselines.Spread(cpu, "0")} us");
    }

    /// <summary>Framed ping-pong of TCP, TLS and the raw secure stream, interleaved in chunks; p50/p99 in microseconds.</summary>
    private static async Task RoundTripsAsync(int rounds)
    {
        const int chunk = 250;
        Console.WriteLine();
        Console.WriteLine($"{"framed ping-pong round trip",-30}{"rounds",8}{"p50 us",10}{"p99 us",10}{"p50 vs TCP",12}{"p50 vs TLS",12}");
        using var serverCert = Baselines.Certificate("server");
        using var clientCert = Baselines.Certificate("client");
        var (tlsClient, tlsServer) = await Baselines.TlsPairAsync(clientCert, serverCert);
        await using (tlsClient)
        await using (tlsServer)
        {
            await using var secure = await SecureEcho.StartAsync();
            foreach (int size in Sizes)
            {
                // Warm-up.
                await PacketBench.PlainTcpPingPongAsync(size, chunk);
                await Baselines.TlsPingPongAsync(tlsClient, tlsServer, size, chunk);
                await secure.RoundTripsAsync(size, chunk);
                var tcpTimes = new List<double>();
                var tlsTimes = new List<double>();
                var secureTimes = new List<double>();
                for (int done = 0; done < rounds; done += chunk)
                {
                    int n = Math.Min(chunk, rounds - done);
                    tcpTimes.AddRange(await PacketBench.PlainTcpPingPongAsync(size, n));
                    tlsTimes.AddRange(await Baselines.TlsPingPongAsync(tlsClient, tlsServer, size, n));
                    secureTimes.AddRange(await secure.RoundTripsAsync(size, n));
                }
                var t = PacketBench.Percentiles([.. tcpTimes]);
                var s = PacketBench.Percentiles([.. tlsTimes]);
                var y = PacketBench.Percentiles([.. secureTimes]);
                Console.WriteLine($"  {"secure stream (yamux on Noise)",-28}{Size(size),8}{y.P50,10:0.0}{y.P99,10:0.0}{y.P50 / t.P50,11:0.00}x{y.P50 / s.P50,11:0.00}x");
                Console.WriteLine($"  {"SslStream TLS 1.3",-28}{Size(size),8}{s.P50,10:0.0}{s.P99,10:0.0}{s.P50 / t.P50,11:0.00}x{1,11:0.00}x");
                Console.WriteLine($"  {"plain framed TCP",-28}{Size(size),8}{t.P50,10:0.0}{t.P99,10:0.0}{1,11:0.00}x{t.P50 / s.P50,11:0.00}x");
            }
        }
    }

    /// <summary>Setups per second, ours against full TLS 1.3 handshakes, in paired interleaved rounds.</summary>
    private static async Task SetupsAsync(int pairs, TimeSpan round)
    {
        Console.WriteLine();
        Console.WriteLine($"secure setups per second, {pairs} paired rounds of {round.TotalSeconds:0.#} s (ours and TLS, the order alternating)");
        await using var bench = await SetupBench.StartAsync();
        // Warm-up of both.
        await bench.OursAsync(8, round / 2);
        await bench.TlsAsync(8, round / 2);
        double sequential = await bench.OursAsync(1, round);
        double tlsSequential = await bench.TlsAsync(1, round);
        Console.WriteLine($"  {"ours (dial+Noise+yamux+ping), sequential",-52}{sequential,10:0}  vs TLS sequential {sequential / tlsSequential:0.00}x ({tlsSequential:0}/s)");
        var ours = new List<double>();
        var tls = new List<double>();
        var oursCpu = new List<double>();
        var tlsCpu = new List<double>();
        for (int i = 0; i < pairs; i++)
        {
            // Alternate which goes first, so neither always follows the other's garbage.
            for (int k = 0; k < 2; k++)
            {
                if ((i + k) % 2 == 0)
                {
                    var (rate, cpu) = await bench.OursTimedAsync(8, round);
                    ours.Add(rate);
                    oursCpu.Add(cpu);
                }
                else
                {
                    var (rate, cpu) = await bench.TlsTimedAsync(8, round);
                    tls.Add(rate);
                    tlsCpu.Add(cpu);
                }
            }
        }
        Console.WriteLine($"  {"ours (dial+Noise+yamux+ping), 8 concurrent",-52}{Baselines.Spread(ours, "0"),22}/s  CPU per setup (both sides) {Baselines.Spread(oursCpu, "0")} us");
        Console.WriteLine($"  {"TLS 1.3 full handshake (mutual, no resumption), 8 conc.",-52}{Baselines.Spread(tls, "0"),22}/s  CPU per handshake (both sides) {Baselines.Spread(tlsCpu, "0")} us");
        Aim("setups ours / TLS 1.3, 8 concurrent", Ratios(ours, tls), 2.0);
        Aim("CPU per TLS handshake / CPU per setup of ours", Ratios(tlsCpu, oursCpu), 2.0);
    }

    /// <summary>Runs <paramref name="run"/> and adds the process CPU time per MB (10^6 bytes) it took to <paramref name="cpu"/>.</summary>
    private static async Task<double> CpuAsync(Func<Task<double>> run, long bytes, List<double> cpu)
    {
        var start = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        double rate = await run();
        cpu.Add((System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - start).TotalMicroseconds / (bytes / 1e6));
        return rate;
    }

    internal static List<double> Ratios(List<double> a, List<double> b) => a.Zip(b, (x, y) => x / y).ToList();

    internal static void Aim(string what, List<double> ratios, double aim)
    {
        double median = Baselines.Median(ratios);
        Console.WriteLine($"  ratio {what,-44}{Baselines.Spread(ratios, "0.00"),22}x  aim >= {aim:0.00}x {(median >= aim ? "met" : "MISSED")}");
    }

    internal static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static string Size(int size) => size >= 1024 ? $"{size / 1024} KiB" : $"{size} B";

    internal static async Task<double> BestAsync(int runs, Func<Task<double>> run)
    {
        double best = 0;
        for (int i = 0; i < runs; i++) best = Math.Max(best, await run());
        return best;
    }
}
