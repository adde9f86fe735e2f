using System.CommandLine;
using P2PNet.Core;
using P2PNet.Protocols.Perf;
using P2PNet.Protocols.Ping;
using P2PNet.Protocols.Transfer;
using P2PNet.Swarm;

namespace P2PNet.Cli;

/// <summary>
/// <c>p2pnet share PATH… [--listen MA]… [--key FILE] [--allow PEERID]… [--max-rate BYTES_PER_S]</c>: serves files
/// to ticket holders (or, with --allow, only to those peers). Prints <c>peer id …</c>, <c>listening on …</c> per
/// address, then <c>get: p2pnet get &lt;TICKET&gt;</c> per file; scripts read these lines.
/// </summary>
internal static class ShareCommand
{
    public static Command Create()
    {
        const string DefaultListen = "/ip4/0.0.0.0/tcp/0";
        var paths = new Argument<string[]>("path") { Description = "Files to share", Arity = ArgumentArity.OneOrMore };
        var listen = CliOptions.Listen(DefaultListen);
        var key = CliOptions.OptionalKey();
        var allow = new Option<string[]>("--allow") { Description = "Only these PeerIds may fetch (repeatable)", AllowMultipleArgumentsPerToken = false };
        var maxRate = new Option<long?>("--max-rate") { Description = "Serve at most this many bytes per second in total (for measurements)" };
        var verbose = CliOptions.Verbose();
        var logLevel = CliOptions.LogLevel();
        var command = new Command("share", "Share files: print a ticket per file that `p2pnet get` fetches, verified and resumable") { paths, listen, key, allow, maxRate, verbose, logLevel };
        command.SetAction(async (parse, ct) =>
        {
            if (CliOptions.ParseListen(parse, listen, DefaultListen) is not { } addresses) return 2;
            var allowed = new List<PeerId>();
            foreach (string text in parse.GetValue(allow) ?? [])
            {
                if (!PeerId.TryParse(text, out var peer))
                {
                    Console.Error.WriteLine($"error: '{text}' is not a PeerId");
                    return 2;
                }
                allowed.Add(peer);
            }
            if (parse.GetValue(maxRate) is <= 0)
            {
                Console.Error.WriteLine("error: --max-rate must be positive");
                return 2;
            }
            foreach (string path in parse.GetValue(paths)!)
            {
                if (!File.Exists(path))
                {
                    Console.Error.WriteLine($"error: no such file: {path}");
                    return 2;
                }
            }

            using var loggers = ConsoleLogging.Create(CliOptions.Level(parse, verbose, logLevel));
            using var identity = await KeyFile.LoadOrEphemeralAsync(parse.GetValue(key), ct).ConfigureAwait(false);
            await using var host = new SwarmHost(identity, loggerFactory: loggers);
            _ = new PingService(host);
            _ = new PerfService(host);
            await using var identify = CliHost.AnswerIdentify(host, loggers);
            using var transfer = new TransferService(host, new TransferOptions { MaxBytesPerSecond = parse.GetValue(maxRate) }, loggers);
            try
            {
                foreach (var address in addresses) await host.ListenAsync(address, ct).ConfigureAwait(false);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                Console.Error.WriteLine($"error: cannot listen: {ex.Message}");
                return 1;
            }
            Console.Out.WriteLine($"peer id {identity.PeerId}");
            var full = host.ListenAddresses.Select(a => a.WithPeerId(identity.PeerId)).ToList();
            foreach (var address in full) Console.Out.WriteLine($"listening on {address}");
            Console.Out.Flush();
            try
            {
                foreach (string path in parse.GetValue(paths)!)
                {
                    var share = await transfer.ShareAsync(path, withSecret: true, allowed.Count > 0 ? allowed : null, ct).ConfigureAwait(false);
                    var ticket = new TransferTicket(share.Id, share.Size, share.Name, share.Secret, full);
                    Console.Out.WriteLine($"get: p2pnet get {ticket}");
                    Console.Out.Flush();
                }
                await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"error: cannot share: {ex.Message}");
                return 1;
            }
            return 0;
        });
        return command;
    }
}
