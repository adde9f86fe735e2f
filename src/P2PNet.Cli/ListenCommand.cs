using System.CommandLine;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Protocols.Identify;
using P2PNet.Protocols.Perf;
using P2PNet.Protocols.Ping;
using P2PNet.Swarm;

namespace P2PNet.Cli;

/// <summary>
/// <c>p2pnet listen</c>: runs a node that answers ping and identify. Standard output gets the PeerId and
/// then each full listen multiaddr, one per line; connections are logged to standard error. With
/// <c>--mdns</c>/<c>--broadcast</c> it announces itself and prints <c>* discovered &lt;PeerId&gt; via &lt;source&gt; at
/// &lt;addr&gt;…</c> once per peer and mechanism (it dials nobody).
/// </summary>
internal static class ListenCommand
{
    private const int MaxRemembered = 4096;

    public static Command Create()
    {
        const string DefaultListen = "/ip4/0.0.0.0/tcp/4001";
        var listen = CliOptions.Listen(DefaultListen);
        var key = CliOptions.Key();
        var verbose = CliOptions.Verbose();
        var discovery = new DiscoveryCliOptions();
        var command = new Command("listen", "Run a node that answers ping and identify") { listen, key };
        discovery.AddTo(command);
        command.Options.Add(verbose);
        command.SetAction(async (parse, ct) =>
        {
            if (discovery.Check(parse) is { } problem)
            {
                Console.Error.WriteLine($"error: {problem.Message}");
                return problem.ExitCode;
            }
            using var loggers = ConsoleLogging.Create(parse.GetValue(verbose));
            var log = loggers.CreateLogger("p2pnet");
            if (CliOptions.ParseListen(parse, listen, DefaultListen) is not { } addresses) return 2;

            using var identity = await Identity.LoadOrCreateAsync(parse.GetValue(key)!, ct).ConfigureAwait(false);
            await using var host = new SwarmHost(identity, loggerFactory: loggers);
            var ping = new PingService(host);
            _ = new PerfService(host);
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
            var mechanisms = discovery.Create(parse, "p2pnet", loggers);
            try
            {
                var seen = new HashSet<(PeerId, string)>();
                foreach (var mechanism in mechanisms)
                {
                    mechanism.PeerDiscovered += (_, e) =>
                    {
                        lock (seen)
                        {
                            if (seen.Count >= MaxRemembered) seen.Clear();
                            if (!seen.Add((e.PeerId, e.Source))) return; // announcements repeat
                            Console.Out.WriteLine($"* discovered {e.PeerId} via {e.Source} at {string.Join(' ', e.Addresses)}");
                            Console.Out.Flush();
                        }
                    };
                    try
                    {
                        await mechanism.StartAsync(identity.PeerId, () => host.ListenAddresses, ct).ConfigureAwait(false);
                    }
                    catch (DiscoveryException ex)
                    {
                        Console.Error.WriteLine($"error: {mechanism.Source}: {ex.Message}");
                        return 1;
                    }
                    lock (seen)
                    {
                        foreach (string line in DiscoveryCliOptions.Describe(mechanism)) Console.Out.WriteLine(line);
                        Console.Out.Flush();
                    }
                }
                await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                log.LogInformation("Shutting down");
            }
            finally
            {
                foreach (var mechanism in mechanisms) await mechanism.DisposeAsync().ConfigureAwait(false);
            }
            _ = ping;
            return 0;
        });
        return command;
    }
}
