using System.CommandLine;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Protocols.Identify;
using P2PNet.Protocols.Ping;
using P2PNet.Swarm;

namespace P2PNet.Cli;

/// <summary>
/// <c>p2pnet listen</c>: runs a node that answers ping and identify. Standard output gets the PeerId and
/// then each full listen multiaddr, one per line; connections are logged to standard error.
/// </summary>
internal static class ListenCommand
{
    public static Command Create()
    {
        var listen = new Option<string[]>("--listen", "-l")
        {
            Description = "Multiaddr to listen on (repeatable); port 0 picks a free port",
            DefaultValueFactory = _ => ["/ip4/0.0.0.0/tcp/4001"],
            AllowMultipleArgumentsPerToken = false,
        };
        var key = CliOptions.Key();
        var verbose = CliOptions.Verbose();
        var command = new Command("listen", "Run a node that answers ping and identify") { listen, key, verbose };
        command.SetAction(async (parse, ct) =>
        {
            using var loggers = ConsoleLogging.Create(parse.GetValue(verbose));
            var log = loggers.CreateLogger("p2pnet");
            var addresses = new List<Multiaddr>();
            foreach (string text in parse.GetValue(listen)!)
            {
                if (!Multiaddr.TryParse(text, out var address) || address.ToIPEndPoint() is null)
                {
                    Console.Error.WriteLine($"error: '{text}' is not a TCP multiaddr like /ip4/0.0.0.0/tcp/4001");
                    return 2;
                }
                addresses.Add(address);
            }

            using var identity = await Identity.LoadOrCreateAsync(parse.GetValue(key)!, ct).ConfigureAwait(false);
            await using var host = new SwarmHost(identity, loggerFactory: loggers);
            var ping = new PingService(host);
            var identify = new IdentifyService(host, loggerFactory: loggers);
            identify.PeerIdentified += (_, e) => log.LogInformation("Identified {PeerId}: agent {Agent}, protocols {Protocols}",
                e.Connection.RemotePeerId, e.Info.AgentVersion, string.Join(' ', e.Info.Protocols));
            try
            {
                foreach (var address in addresses) await host.ListenAsync(address, ct).ConfigureAwait(false);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                Console.Error.WriteLine($"error: cannot listen: {ex.Message}");
                return 1;
            }

            Console.Out.WriteLine(identity.PeerId);
            foreach (var address in host.ListenAddresses) Console.Out.WriteLine(address.WithPeerId(identity.PeerId));
            Console.Out.Flush();
            try
            {
                await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                log.LogInformation("Shutting down");
            }
            _ = ping;
            return 0;
        });
        return command;
    }
}
