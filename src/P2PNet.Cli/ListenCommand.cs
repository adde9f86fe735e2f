using System.CommandLine;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Protocols.AutoNat;
using P2PNet.Protocols.Dcutr;
using P2PNet.Protocols.Identify;
using P2PNet.Protocols.Perf;
using P2PNet.Protocols.Ping;
using P2PNet.Protocols.Relay;
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
        var relayService = new Option<bool>("--relay-service") { Description = "Serve circuit relay v2 (hop) for other peers" };
        var relayMaxDuration = new Option<double>("--relay-max-duration")
        {
            Description = "Seconds a relayed circuit may last (0 = unlimited)",
            DefaultValueFactory = _ => RelayServiceOptions.Default.MaxCircuitDuration.TotalSeconds,
        };
        CliOptions.AddRange(relayMaxDuration, 0, 86400, "--relay-max-duration must be 0-86400 seconds");
        var relayMaxBytes = new Option<long>("--relay-max-bytes")
        {
            Description = "Bytes a relayed circuit may carry in each direction (0 = unlimited)",
            DefaultValueFactory = _ => RelayServiceOptions.Default.MaxCircuitBytes,
        };
        CliOptions.AddRange(relayMaxBytes, 0, long.MaxValue, "--relay-max-bytes must be at least 0");
        var relays = new Option<string[]>("--relay")
        {
            Description = "Reserve a slot on this relay (ADDR/p2p/RELAY) and print the circuit address; repeatable",
            AllowMultipleArgumentsPerToken = false,
        };
        var autoRelay = new Option<bool>("--auto-relay")
        {
            Description = "When AutoNAT finds this node private, reserve slots on up to 2 connected peers that serve relay hop",
        };
        var command = new Command("listen", "Run a node that answers ping, identify and /perf/1.0.0")
        {
            listen, key, json, relayService, relayMaxDuration, relayMaxBytes, relays, autoRelay,
        };
        discovery.AddTo(command);
        command.Options.Add(publicCidr);
        command.Options.Add(verbose);
        command.Options.Add(logLevel);
        command.SetAction(CliRun.Guard(async (parse, ct) =>
        {
            if (discovery.Check(parse) is { } problem) throw new CliException(problem.Message, problem.ExitCode);
            var publicCidrs = CliOptions.ParsePublicCidrs(parse, publicCidr);
            var addresses = CliOptions.ListenAddresses(parse, listen, DefaultListen);
            var relayAddresses = CliOptions.ParseRelays(parse, relays);
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
            // DCUtR from the start: a relayed connection that arrives is hole punched at once.
            await using var dcutr = new DcutrService(host, new DcutrOptions { PublicCidrs = publicCidrs }, loggers);
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
            await using var relay = parse.GetValue(relayService)
                ? new RelayService(host, new RelayServiceOptions
                {
                    MaxCircuitDuration = TimeSpan.FromSeconds(parse.GetValue(relayMaxDuration)),
                    MaxCircuitBytes = parse.GetValue(relayMaxBytes),
                }, loggers)
                : null;
            bool autoRelaying = parse.GetValue(autoRelay);
            await using var relayClient = relayAddresses.Count > 0 || autoRelaying ? new RelayClient(host, loggerFactory: loggers) : null;
            var circuitAddresses = await CliOptions.ReserveAsync(relayClient, relayAddresses, ct).ConfigureAwait(false);
            // Auto-relay: relays chosen among connected peers that serve hop, while AutoNAT finds us private.
            await using var autoRelays = autoRelaying ? CliOptions.StartAutoRelay(host, relayClient!, autonat, loggers) : null;

            if (asJson)
            {
                foreach (var address in host.ListenAddresses.Concat(circuitAddresses))
                    CliJson.Write(new ListeningJson(address.WithPeerId(identity.PeerId).ToString()), CliJsonContext.Default.ListeningJson);
            }
            else
            {
                Console.Out.WriteLine(identity.PeerId);
                foreach (var address in host.ListenAddresses.Concat(circuitAddresses)) Console.Out.WriteLine(address.WithPeerId(identity.PeerId));
                if (relay is not null) Console.Out.WriteLine("* relay service on");
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
