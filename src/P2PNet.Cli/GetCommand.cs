using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using P2PNet.Core;
using P2PNet.Protocols.Transfer;
using P2PNet.Swarm;
using Spectre.Console;

namespace P2PNet.Cli;

/// <summary>
/// <c>p2pnet get TICKET [-o PATH] [--from MULTIADDR]… [--force]</c>: fetches from every provider it can reach,
/// verifying each group, with a progress bar on a terminal or a plain line each second otherwise; ends with
/// <c>saved &lt;path&gt; &lt;bytes&gt; bytes &lt;cid&gt;</c>. Run again after an interruption, it resumes.
/// </summary>
internal static class GetCommand
{
    public static Command Create()
    {
        var ticketArg = new Argument<string>("ticket") { Description = "The ticket printed by `p2pnet share`" };
        var output = new Option<string?>("--output", "-o") { Description = "File to write, or an existing folder to write the ticket's file name into (default: the ticket's name here)" };
        var from = new Option<string[]>("--from") { Description = "Another provider's multiaddr (repeatable)" };
        var force = new Option<bool>("--force") { Description = "Overwrite the destination if it exists" };
        var timeout = new Option<double>("--timeout") { Description = "Seconds allowed for each dial", DefaultValueFactory = _ => 10.0 };
        var key = CliOptions.OptionalKey();
        var verbose = CliOptions.Verbose();
        var logLevel = CliOptions.LogLevel();
        var command = new Command("get", "Fetch a shared file by ticket, verified, from every provider; resumes when run again") { ticketArg, output, from, force, timeout, key, verbose, logLevel };
        command.SetAction(async (parse, ct) =>
        {
            if (!TransferTicket.TryParse(parse.GetValue(ticketArg), out var ticket, out string? problem))
            {
                Console.Error.WriteLine($"error: bad ticket: {problem}");
                return 2;
            }
            var addresses = new List<Multiaddr>(ticket.Addresses);
            foreach (string text in parse.GetValue(from) ?? [])
            {
                if (!CliOptions.TryParsePeer(text, out var address))
                {
                    Console.Error.WriteLine($"error: {CliOptions.NotAPeerAddress(text)}");
                    return 2;
                }
                addresses.Add(address);
            }
            string destination = parse.GetValue(output) is { } o
                ? Directory.Exists(o) ? Path.Combine(o, ticket.Name) : o
                : ticket.Name;

            using var loggers = ConsoleLogging.Create(CliOptions.Level(parse, verbose, logLevel));
            using var identity = await KeyFile.LoadOrEphemeralAsync(parse.GetValue(key), ct).ConfigureAwait(false);
            await using var host = new SwarmHost(identity, loggerFactory: loggers);
            using var transfer = new TransferService(host, loggerFactory: loggers);
            await using var identify = CliHost.AnswerIdentify(host, loggers);
            var providers = await DialAllAsync(host, addresses, TimeSpan.FromSeconds(parse.GetValue(timeout)), ct).ConfigureAwait(false);
            if (providers.Count == 0)
            {
                Console.Error.WriteLine("error: no provider could be reached");
                return 1;
            }
            try
            {
                var result = await FetchWithProgressAsync(transfer, ticket.Id, ticket.Size, ticket.Name, providers, destination,
                    new FetchOptions { Secret = ticket.Secret, Overwrite = parse.GetValue(force) }, ct).ConfigureAwait(false);
                Console.Error.WriteLine($"resumed {result.ResumedBytes} bytes, fetched {result.FetchedBytes} bytes, dropped {result.DroppedProviders} providers");
                Console.Out.WriteLine($"saved {result.Path} {result.Size} bytes {result.Id}");
                return 0;
            }
            catch (TransferException ex) when (!ct.IsCancellationRequested)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return 1;
            }
            catch (IOException ex) when (!ct.IsCancellationRequested)
            {
                Console.Error.WriteLine($"error: cannot write {destination}: {ex.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>Dials every address, one connection per peer; failures go to standard error.</summary>
    public static async Task<List<Connection>> DialAllAsync(SwarmHost host, IEnumerable<Multiaddr> addresses, TimeSpan timeout, CancellationToken ct)
    {
        var connections = new List<Connection>();
        foreach (var address in addresses)
        {
            if (address.PeerId is { } known && connections.Any(c => c.RemotePeerId == known)) continue;
            try
            {
                using var dial = CancellationTokenSource.CreateLinkedTokenSource(ct);
                dial.CancelAfter(timeout);
                var connection = await host.DialAsync(address, dial.Token).ConfigureAwait(false);
                if (!connections.Contains(connection)) connections.Add(connection);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                Console.Error.WriteLine($"warning: cannot reach {address}: {(ex is OperationCanceledException ? "timed out" : ex.Message)}");
            }
        }
        return connections;
    }

    /// <summary>Runs a fetch with a Spectre.Console bar on a terminal, else a plain progress line each second on standard error.</summary>
    public static async Task<FetchResult> FetchWithProgressAsync(TransferService transfer, ContentId id, long size, string name,
        IReadOnlyList<Connection> providers, string destination, FetchOptions options, CancellationToken ct)
    {
        if (!Console.IsOutputRedirected && !Console.IsErrorRedirected)
        {
            FetchResult? result = null;
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                    new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask(Markup.Escape(name), maxValue: Math.Max(1, size));
                    var progress = new Reporter(p =>
                    {
                        task.Value = p.BytesVerified;
                        task.Description = Markup.Escape($"{name} ({p.Providers} providers)");
                    });
                    result = await transfer.FetchAsync(id, size, providers, destination, options, progress, ct).ConfigureAwait(false);
                    task.Value = size;
                }).ConfigureAwait(false);
            return result!;
        }
        long last = Stopwatch.GetTimestamp() - Stopwatch.Frequency;
        var plain = new Reporter(p =>
        {
            long now = Stopwatch.GetTimestamp();
            if (now - last < Stopwatch.Frequency && p.BytesVerified < p.TotalBytes) return;
            last = now;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"progress {p.BytesVerified}/{p.TotalBytes} bytes {p.BytesPerSecond / 1e6:0.0} MB/s {p.Providers} providers eta {(p.Eta is { } eta ? $"{eta.TotalSeconds:0}s" : "?")}"));
        });
        return await transfer.FetchAsync(id, size, providers, destination, options, plain, ct).ConfigureAwait(false);
    }

    /// <summary>Reports on the fetch's own thread: the callbacks are cheap and must not queue up behind a slow console.</summary>
    private sealed class Reporter(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        private readonly Lock _lock = new();

        public void Report(TransferProgress value)
        {
            lock (_lock) report(value);
        }
    }
}
