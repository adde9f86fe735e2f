using System.CommandLine;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Peers;
using P2PNet.Peers.Packets;

namespace P2PNet.Cli;

/// <summary>
/// <c>p2pnet chat</c>: a node that sends each line of standard input as a PureMessage to every channel and
/// prints each message that arrives as <c>&lt;PeerId&gt;: &lt;text&gt;</c>. Commands: /peers, /connect ADDR,
/// /block ID, /send PATH, /get N (ChatFiles), /quit. End of input quits (after sending what was typed). With <c>--mdns</c>/<c>--broadcast</c> it
/// finds peers on the LAN, prints <c>* discovered &lt;PeerId&gt; via &lt;source&gt; at &lt;addr&gt;…</c> and connects to
/// them (auto-connect, peer exchange).
/// </summary>
internal static class ChatCommand
{
    private const int MaxTargetPeers = 1024;

    public static Command Create()
    {
        const string DefaultListen = "/ip4/0.0.0.0/tcp/0";
        var listen = CliOptions.Listen(DefaultListen);
        var peers = new Option<string[]>("--peer", "-p") { Description = "Multiaddr of a peer to connect to (repeatable)" };
        var key = CliOptions.OptionalKey();
        var name = new Option<string?>("--name") { Description = "Display name announced to peers" };
        var network = new Option<string>("--network") { Description = "Network name; peers of other networks are refused", DefaultValueFactory = _ => "p2pnet" };
        var targetPeers = new Option<int?>("--target-peers")
        {
            HelpName = "n",
            Description = "Keep this many channels open by dialing discovered peers (default 8 with --mdns/--broadcast; 0: never dial); " +
                          "also turns on peer exchange",
        };
        targetPeers.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 0 or > MaxTargetPeers) r.AddError($"--target-peers must be 0-{MaxTargetPeers}");
        });
        var noExchange = new Option<bool>("--no-peer-exchange")
        {
            Description = "Neither share known peers with channels nor accept the peers they share (keeps channels at Default trust)",
        };
        var discovery = new DiscoveryCliOptions();
        var verbose = CliOptions.Verbose();
        var command = new Command("chat", "Chat with peers: each line you type goes to every connected peer")
        {
            listen, peers, key, name, network,
        };
        discovery.AddTo(command);
        command.Options.Add(targetPeers);
        command.Options.Add(noExchange);
        command.Options.Add(verbose);
        command.SetAction(async (parse, ct) =>
        {
            if (discovery.Check(parse) is { } problem)
            {
                Console.Error.WriteLine($"error: {problem.Message}");
                return problem.ExitCode;
            }
            // Peer exchange and auto-connect go with any discovery option.
            bool discovering = discovery.AnyMechanism(parse) || parse.GetValue(targetPeers) is not null;
            if (!discovering && parse.GetValue(noExchange))
            {
                Console.Error.WriteLine("error: --no-peer-exchange needs --mdns, --broadcast or --target-peers");
                return 2;
            }
            if (CliOptions.ParseListen(parse, listen, DefaultListen) is not { } listenAddresses) return 2;
            var peerAddresses = new List<Multiaddr>();
            foreach (var text in parse.GetValue(peers) ?? [])
            {
                if (!CliOptions.TryParsePeer(text, out var address))
                {
                    Console.Error.WriteLine($"error: --peer {CliOptions.NotAPeerAddress(text)}");
                    return 2;
                }
                peerAddresses.Add(address);
            }
            using var loggers = ConsoleLogging.Create(parse.GetValue(verbose), quiet: !parse.GetValue(verbose));
            using var identity = await CliOptions.LoadIdentityAsync(parse.GetValue(key), ct).ConfigureAwait(false);
            var options = new PeerNetworkOptions
            {
                Identity = identity,
                ListenAddresses = listenAddresses,
                DisplayName = parse.GetValue(name),
                NetworkName = parse.GetValue(network)!,
            };
            await using var node = new PeerNetwork(options, loggers);
            bool exchange = discovering && !parse.GetValue(noExchange);
            // Shared peers arrive in CollectionShare packets and file offers in DataTransmissionPackets, both of
            // which need Enhanced trust on the receiving channel; the chat acts on nothing else at that level, so it
            // trusts every channel that far (with --no-peer-exchange, shared peers are still not dialed).
            node.TrustPolicy.AllowEnhancedPacketExchange = true;
            var output = new ChatOutput();
            var files = new ChatFiles(node, output.Line);
            node.MessageReceived += (_, e) => output.Line($"{e.Sender}: {e.Message}");
            node.PeerDiscovered += (_, e) => output.Line($"* discovered {e.Peer.Identifier} via {e.Source} at {string.Join(' ', e.Addresses)}");
            node.PeerAdded += (_, c) => output.Line($"* connected {c.Identifier}");
            node.PeerRemoved += (_, c) => output.Line($"* disconnected {c.Identifier}{(c.CloseReason is { } r ? $" ({r})" : "")}");

            try
            {
                await node.StartAsync(ct).ConfigureAwait(false);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                Console.Error.WriteLine($"error: cannot listen: {ex.Message}");
                return 1;
            }
            output.Line($"peer id {identity.PeerId}");
            foreach (var address in node.ListenAddresses) output.Line($"listening on {address.WithPeerId(identity.PeerId)}");
            if (discovering)
            {
                var settings = new PeerDiscoveryOptions { PeerExchange = exchange, TargetPeerCount = parse.GetValue(targetPeers) ?? new PeerDiscoveryOptions().TargetPeerCount };
                if (discovery.Interval(parse) is { } interval) settings = settings with { AutoConnectInterval = interval };
                node.StartPeerDiscovery(settings);
                output.Line($"* auto-connect up to {settings.TargetPeerCount} peers, peer exchange {(exchange ? "on" : "off")}");
                foreach (var mechanism in discovery.Create(parse, options.NetworkName, loggers))
                {
                    try
                    {
                        await node.AddDiscoveryAsync(mechanism, ct).ConfigureAwait(false);
                    }
                    catch (DiscoveryException ex)
                    {
                        await mechanism.DisposeAsync().ConfigureAwait(false);
                        Console.Error.WriteLine($"error: {mechanism.Source}: {ex.Message}");
                        await node.StopAsync(CancellationToken.None).ConfigureAwait(false);
                        return 1;
                    }
                    foreach (string line in DiscoveryCliOptions.Describe(mechanism)) output.Line(line);
                }
            }
            foreach (var address in peerAddresses) await ConnectAsync(node, address, output, ct).ConfigureAwait(false);
            output.Line("type a message and press Enter; /peers, /connect ADDR, /block ID, /quit");

            while (!ct.IsCancellationRequested)
            {
                string? line;
                try
                {
                    // Console.In reads synchronously whatever the API says: read on the pool so that Ctrl+C
                    // (ct) ends the wait and the node still stops gracefully (DisconnectPackets).
                    line = await Task.Run(Console.In.ReadLine, CancellationToken.None).WaitAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                if (line is null || line.Trim() == "/quit") break;
                if (line.Length == 0) continue;
                if (line.StartsWith('/'))
                {
                    if (!await files.TryRunAsync(line.Trim(), ct).ConfigureAwait(false)) await RunCommandAsync(node, line.Trim(), output, ct).ConfigureAwait(false);
                }
                else if (line.Length > PacketCodec.MaxMessageLength)
                {
                    // The channel would refuse to write it; say so here rather than lose the line.
                    output.Line($"* message too long ({line.Length} characters, at most {PacketCodec.MaxMessageLength}): not sent");
                }
                else
                {
                    int sent = await node.BroadcastAsync(new PureMessagePacket(line), ct).ConfigureAwait(false);
                    if (sent == 0) output.Line("* no peer connected: message not sent");
                }
            }
            await node.StopAsync(CancellationToken.None).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    private static async Task RunCommandAsync(PeerNetwork node, string line, ChatOutput output, CancellationToken ct)
    {
        string[] parts = line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        switch (parts[0])
        {
            case "/peers":
                var channels = node.ActivePeerChannels;
                output.Line($"* {channels.Count} connected, {node.KnownPeers.Count} known");
                foreach (var c in channels) output.Line($"*   {c.Identifier} {c.Direction} {c.State} {c.Peer.IP}:{c.Peer.Port}");
                break;
            case "/connect" when parts.Length == 2:
                if (CliOptions.TryParsePeer(parts[1], out var address)) await ConnectAsync(node, address, output, ct).ConfigureAwait(false);
                else output.Line($"* {CliOptions.NotAPeerAddress(parts[1])}");
                break;
            case "/block" when parts.Length == 2:
                if (PeerId.TryParse(parts[1], out var id))
                {
                    node.BlockPeer(id);
                    output.Line($"* blocked {id}");
                }
                else output.Line($"* '{parts[1]}' is not a PeerId");
                break;
            default:
                output.Line("* commands: /peers, /connect ADDR, /block ID, /quit");
                break;
        }
    }

    private static async Task ConnectAsync(PeerNetwork node, Multiaddr address, ChatOutput output, CancellationToken ct)
    {
        try
        {
            var channel = await node.ConnectAsync(address, ct).ConfigureAwait(false);
            output.Line($"* channel open with {channel.Identifier}");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            output.Line($"* cannot connect to {address}: {ex.Message}");
        }
    }

    /// <summary>Whole lines, one writer at a time (events arrive on several threads).</summary>
    private sealed class ChatOutput
    {
        private readonly Lock _sync = new();

        public void Line(string text)
        {
            lock (_sync)
            {
                Console.Out.WriteLine(text);
                Console.Out.Flush();
            }
        }
    }
}
