using System.CommandLine;
using System.Globalization;
using P2PNet.Protocols.Perf;
using P2PNet.Swarm;

namespace P2PNet.Cli;

/// <summary><c>p2pnet perf MULTIADDR [--upload BYTES] [--download BYTES]</c>: one /perf/1.0.0 run, printing both throughputs.</summary>
internal static class PerfCommand
{
    public static Command Create()
    {
        var target = new Argument<string>("multiaddr") { Description = "Peer to measure, e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…" };
        var upload = new Option<ulong>("--upload") { Description = "Bytes to upload", DefaultValueFactory = _ => 64UL << 20 };
        var download = new Option<ulong>("--download") { Description = "Bytes to download", DefaultValueFactory = _ => 64UL << 20 };
        var timeout = new Option<double>("--timeout") { Description = "Seconds allowed for the dial, and without progress during the run", DefaultValueFactory = _ => 30.0 };
        var key = CliOptions.OptionalKey();
        var verbose = CliOptions.Verbose();
        var logLevel = CliOptions.LogLevel();
        var command = new Command("perf", "Measure upload and download throughput to a peer with /perf/1.0.0") { target, upload, download, timeout, key, verbose, logLevel };
        command.SetAction(async (parse, ct) =>
        {
            if (!CliOptions.TryParsePeer(parse.GetValue(target), out var address))
            {
                Console.Error.WriteLine($"error: {CliOptions.NotAPeerAddress(parse.GetValue(target))}");
                return 2;
            }
            var wait = TimeSpan.FromSeconds(parse.GetValue(timeout));
            using var loggers = ConsoleLogging.Create(CliOptions.Level(parse, verbose, logLevel));
            using var identity = await KeyFile.LoadOrEphemeralAsync(parse.GetValue(key), ct).ConfigureAwait(false);
            await using var host = new SwarmHost(identity, loggerFactory: loggers);
            var perf = new PerfService(host, PerfOptions.Default with { IdleTimeout = wait });
            await using var identify = CliHost.AnswerIdentify(host, loggers);
            try
            {
                Connection connection;
                using (var dialTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    dialTimeout.CancelAfter(wait);
                    connection = await host.DialAsync(address, dialTimeout.Token).ConfigureAwait(false);
                }
                var result = await perf.RunAsync(connection, parse.GetValue(upload), parse.GetValue(download), ct).ConfigureAwait(false);
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"upload {result.UploadBytes} bytes in {result.UploadTime.TotalSeconds:0.###} s: {Megabytes(result.UploadBytesPerSecond)} MB/s"));
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"download {result.DownloadBytes} bytes in {result.DownloadTime.TotalSeconds:0.###} s: {Megabytes(result.DownloadBytesPerSecond)} MB/s"));
                return 0;
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                Console.Error.WriteLine($"error: perf with {address} failed: {(ex is OperationCanceledException ? "timed out" : ex.Message)}");
                return 1;
            }
        });
        return command;
    }

    private static string Megabytes(double bytesPerSecond) => (bytesPerSecond / 1e6).ToString("0.0", CultureInfo.InvariantCulture);
}
