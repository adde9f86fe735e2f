using System.CommandLine;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Protocols.AutoNat;
using P2PNet.Protocols.Identify;
using P2PNet.Protocols.Perf;
using P2PNet.Protocols.Ping;
using P2PNet.Swarm;

namespace P2PNet.Cli;

/// <summary>
/// <c>p2pnet listen</c>: runs a node that answers ping, identify and /perf/1.0.0. Standard output gets the PeerId and
/// then each full listen multiaddr, one per line; connections are logged to standard error. With
/// <c>--mdns</c>/<c>--broadcast</c> it announces itself and prints <c>* discovered &lt;PeerId&gt; via &lt;source&gt; at
/// &lt;addr&gt;…</c> once per peer and mechanism (it dials nobody). With <c>--json</c>, standard output is one object
/// per line instead: <c>{"type":"listening","addr":…}</c> per address, then <c>connection</c> and <c>discovered</c> events.
/// </summary>
internal static class ListenCommand
{
    private const int MaxRemembered = 4096;

    public static Command Create()
    {
        const string DefaultListen = "/ip4/0.0.0.0/tcp/4001";
        var listen = CliOptions.Listen(DefaultListen);
        var key = CliOptions.Key();
        var json = CliOptions.Json();
        var verbose = CliOptions.Verbose();
        var logLevel = CliOptions.LogLevel();
        var publicCidr = CliOptions.PublicCidr();
        var discovery = new DiscoveryCliOptions(hasNetworkOption: false);
        var command = new Command("listen", "Run a node that answers ping, identify and /perf/1.0.0") { listen, key, json };
        discovery.AddTo(command);
        command.Options.Add(publicCidr);
        command.Options.Add(verbose);
        command.Options.Add(logLevel);
        command.SetAction(CliRun.Guard(async (parse, ct) =>
        {
            if (discovery.Check(parse) is { } problem) throw new CliException(problem.Message, problem.ExitCode);
            var publicCidrs = CliOptions.ParsePublicCidrs(parse, publicCidr);
            if (CliOptions.ParseListen(parse, listen, DefaultListen) is not { } addresses) return CliExit.Usage;
            bool asJson = parse.GetValue(json);
            // Connections are what a listening node is for: logged at information unless asked otherwise.
            using var loggers = ConsoleLogging.Create(CliOptions.Level(parse, verbose, logLevel, LogLevel.Information));
            var log = loggers.CreateLogger("p2pnet");

            var (identity, _) = await KeyFile.LoadOrCreateAsync(parse.GetValue(key)!, ct).ConfigureAwait(false);
            using var ownedIdentity = identity;
            await using var host = new SwarmHost(identity, loggerFactory: loggers);
            _ = new PingService(host);
            _ = new PerfService(host);
            var identify = new IdentifyService(host, loggerFactory: loggers);
            identify.PeerIdentified += (_, e) => log.LogDebug("Identified {PeerId}: agent {Agent}, protocols {Protocols}",
                e.Connection.RemotePeerId, e.Info.AgentVersion, string.Join(' ', e.Info.Protocols));
            // AutoNAT v2: a listening node serves dial-backs (rate-limited) and finds out its own reachability.
            await using var autonat = new AutoNatService(host, new AutoNatOptions { PublicCidrs = publicCidrs }, loggers);
            if (!asJson)
            {
                autonat.ReachabilityChanged += (_, e) =>
                {
                    if (CliOptions.ReachabilityLine(e.Current) is not { } line) return;
                    Console.Out.WriteLine(line);
                    Console.Out.Flush();
                };
            }
            if (asJson)
            {
                host.ConnectionOpened += (_, c) => WriteConnection("opened", c);
                host.ConnectionClosed += (_, c) => WriteConnection("closed", c);
            }
            foreach (var address in addresses)
            {
                try
                {
                    await host.ListenAsync(address, ct).ConfigureAwait(false);
                }
                catch (System.Net.Sockets.SocketException ex)
                {
                    throw new CliException($"cannot listen on {address}: {ex.Message}", CliExit.Failure, ex);
                }
            }

            if (asJson)
            {
                foreach (var address in host.ListenAddresses)
                    CliJson.Write(new ListeningJson(address.WithPeerId(identity.PeerId).ToString()), CliJsonContext.Default.ListeningJson);
            }
            else
            {
                Console.Out.WriteLine(identity.PeerId);
                foreach (var address in host.ListenAddresses) Console.Out.WriteLine(address.WithPeerId(identity.PeerId));
                Console.Out.Flush();
            }
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
                            if (asJson)
                            {
                                CliJson.Write(new DiscoveredJson(e.PeerId.ToString(), e.Source, [.. e.Addresses.Select(a => a.ToString())]), CliJsonContext.Default.DiscoveredJson);
                                return;
                            }
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
                        throw new CliException($"{mechanism.Source}: {ex.Message}", CliExit.Failure, ex);
                    }
                    if (asJson) continue;
                    lock (seen)
                    {
                        foreach (string line in DiscoveryCliOptions.Describe(mechanism)) Console.Out.WriteLine(line);
                        Console.Out.Flush();
                    }
                }
                await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                log.LogInformation("Shutting down");
            }
            finally
            {
                foreach (var mechanism in mechanisms) await mechanism.DisposeAsync().ConfigureAwait(false);
            }
            return CliExit.Ok;
        }));
        return command;
    }

    private static void WriteConnection(string what, Connection c) =>
        CliJson.Write(new ConnectionJson(what, c.RemotePeerId.ToString(), c.RemoteAddress.ToString(), c.Direction == ConnectionDirection.Inbound ? "inbound" : "outbound"),
            CliJsonContext.Default.ConnectionJson);
}
