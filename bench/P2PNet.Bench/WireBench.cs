using System.Globalization;

namespace P2PNet.Bench;

/// <summary>
/// <c>wire</c>: bulk one-way throughput over (1) plain framed TCP, (2) SslStream TLS 1.3 and (3) one yamux
/// stream on a Noise connection, all on loopback in this one run, plus secure connection setups (TCP dial +
/// Noise + yamux) per second. Prints each figure and the ratios. Options: --mib N, --seconds S.
/// </summary>
internal static class WireBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        int mib = 1024;
        double setupSeconds = 5;
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--mib") mib = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            if (args[i] == "--seconds") setupSeconds = double.Parse(args[i + 1], CultureInfo.InvariantCulture);
        }
        long bytes = (long)mib * 1024 * 1024;
        Console.WriteLine($"P2PNet wire benchmark: {mib} MiB one-way per run, best of 3, loopback, {Environment.ProcessorCount} cores, .NET {Environment.Version}");

        double tcp = await BestAsync(3, () => ThroughputBench.PlainTcpAsync(bytes));
        Console.WriteLine($"plain framed TCP      : {tcp,9:0.0} MB/s");
        double tls = await BestAsync(3, () => ThroughputBench.SslStreamAsync(bytes));
        Console.WriteLine($"SslStream TLS 1.3     : {tls,9:0.0} MB/s");
        double noise = await BestAsync(3, () => ThroughputBench.NoiseYamuxAsync(bytes));
        Console.WriteLine($"Noise + yamux stream  : {noise,9:0.0} MB/s");
        Console.WriteLine($"ratio Noise+yamux / SslStream TLS 1.3 : {noise / tls:0.00}x (aim >= 0.80x)");
        Console.WriteLine($"ratio Noise+yamux / plain TCP         : {noise / tcp:0.00}x");
        Console.WriteLine($"ratio SslStream / plain TCP           : {tls / tcp:0.00}x");

        var (seq, conc) = await SetupBench.RunAsync(TimeSpan.FromSeconds(setupSeconds));
        Console.WriteLine($"secure setups/s (dial+Noise+yamux), sequential     : {seq,7:0}");
        Console.WriteLine($"secure setups/s (dial+Noise+yamux), 8 concurrent   : {conc,7:0} (aim >= 300)");
        double tlsSetups = await SetupBench.TlsSetupsAsync(TimeSpan.FromSeconds(setupSeconds));
        Console.WriteLine($"TLS 1.3 setups/s (dial+handshake), 8 concurrent    : {tlsSetups,7:0}");
        Console.WriteLine($"ratio secure setups / TLS setups                   : {conc / tlsSetups:0.00}x");
        return 0;
    }

    internal static async Task<double> BestAsync(int runs, Func<Task<double>> run)
    {
        double best = 0;
        for (int i = 0; i < runs; i++) best = Math.Max(best, await run());
        return best;
    }
}
