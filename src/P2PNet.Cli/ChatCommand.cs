using System.CommandLine;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Protocols.Relay;

namespace P2PNet.Cli;

/// <summary>
/// <c>p2pnet chat</c>: a node that sends each line of standard input as a PureMessage to every channel and
/// prints each message that arrives as <c>&lt;PeerId&gt;: &lt;text&gt;</c> (<c>&lt;PeerId&gt; (&lt;name&gt;): &lt;text&gt;</c> when the
/// sender announced a --name). Commands: /peers, /connect ADDR, /msg ID TEXT, /block ID, /unblock ID, /send PATH, /get N (ChatFiles), /help, /quit.
/// End of input quits (after sending what was typed). With <c>--mdns</c>/<c>--broadcast</c> it finds peers on the
/// LAN, prints <c>* discovered &lt;PeerId&gt; via &lt;source&gt; at &lt;addr&gt;…</c> and connects to them (auto-connect,
/// peer exchange); with <c>--bootstrap URL</c> it registers with a bootstrap server, heartbeats, and connects to
/// the peers it returns.
/// </summary>
internal static class ChatCommand
{
    private const int MaxTargetPeers = 1024;
    private const int MaxShownNameLength = 64;
    private const string Commands = "/peers, /connect ADDR, /msg ID TEXT, /block ID, /unblock ID, /send PATH, /get N, /help, /quit";

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
        CliOptions.AddRange(targetPeers, 0, MaxTargetPeers, $"--target-peers must be 0-{MaxTargetPeers}");
        var noExchange = new Option<bool>("--no-peer-exchange")
        {
            Description = "Neither share known peers with channels nor accept the peers they share (keeps channels at Default trust)",
        };
        var discovery = new DiscoveryCliOptions(hasNetworkOption: true);
        var bootstrap = new BootstrapCliOptions();
        var verbose = CliOptions.Verbose();
        var logLevel = CliOptions.LogLevel();
        var publicCidr = CliOptions.PublicCidr();
        var relays = new Option<string[]>("--relay")
        {
            Description = "Reserve a slot on this relay (ADDR/p2p/RELAY) and print the circuit address; repeatable",
            AllowMultipleArgumentsPerToken = false,
        };
        var autoRelay = new Option<bool>("--auto-relay")
        {
            Description = "When AutoNAT finds this node private, reserve slots on up to 2 connected peers that serve relay hop",
        };
        var command = new Command("chat", "Chat with peers: each line you type goes to every connected peer")
        {
            listen, peers, key, name, network,
        };
        discovery.AddTo(command);
        command.Options.Add(targetPeers);
        command.Options.Add(noExchange);
        bootstrap.AddTo(command);
        command.Options.Add(publicCidr);
        command.Options.Add(relays);
        command.Options.Add(autoRelay);
        command.Options.Add(verbose);
        command.Options.Add(logLevel);
        command.SetAction(CliRun.Guard(async (parse, ct) =>
        {
            if (discovery.Check(parse) is { } problem) throw new CliException(problem.Message, problem.ExitCode);
            var bootstrapOptions = bootstrap.Parse(parse); // throws the usage error
            var publicCidrs = CliOptions.ParsePublicCidrs(parse, publicCidr);
            // Peer exchange and auto-connect go with any discovery option.
            bool discovering = discovery.AnyMechanism(parse) || parse.GetValue(targetPeers) is not null;
            if (!discovering && parse.GetValue(noExchange))
                throw new CliException("--no-peer-exchange needs --mdns, --broadcast or --target-peers", CliExit.Usage);
            var listenAddresses = CliOptions.ListenAddresses(parse, listen, DefaultListen);
            var peerAddresses = new List<Multiaddr>();
            foreach (var text in parse.GetValue(peers) ?? [])
            {
                if (!CliOptions.TryParsePeer(text, out var address) && !CliOptions.TryParseCircuit(text, out address))
                    throw new CliException($"--peer {CliOptions.NotAPeerAddress(text)}", CliExit.Usage);
                peerAddresses.Add(address);
            }
            var relayAddresses = CliOptions.ParseRelays(parse, relays);
            // Warnings and errors only by default: the chat keeps the terminal for the conversation.
            using var loggers = ConsoleLogging.Create(CliOptions.Level(parse, verbose, logLevel));
            using var identity = await KeyFile.LoadOrEphemeralAsync(parse.GetValue(key), ct).ConfigureAwait(false);
            var options = new PeerNetworkOptions
            {
                Identity = identity,
                ListenAddresses = listenAddresses,
                DisplayName = parse.GetValue(name),
                NetworkName = parse.GetValue(network)!,
                // Chat runs over relayed circuits too: a relay limit reopens the channel, a direct connection takes it over.
                AllowLimitedConnections = true,
            };
            await using var node = new PeerNetwork(options, loggers);
            bool exchange = discovering && !parse.GetValue(noExchange);
            // Shared peers arrive in CollectionShare packets and file offers in DataTransmissionPackets, both of
            // which need Enhanced trust on the receiving channel; the chat acts on nothing else at that level, so it
            // trusts every channel that far (with --no-peer-exchange, shared peers are still not dialed).
            node.TrustPolicy.AllowEnhancedPacketExchange = true;
            var output = new ChatOutput();
            var files = new ChatFiles(node, output.Line);
            node.MessageReceived += (_, e) => output.Line($"{Who(e.Channel)}: {e.Message}");
            node.PeerDiscovered += (_, e) => output.Line($"* discovered {e.Peer.Identifier} via {e.Source} at {string.Join(' ', e.Addresses)}");
            // The same lines whichever side dialed.
            node.PeerAdded += (_, c) => output.Lines($"* connected {Who(c)}", $"* channel open with {Who(c)}");
            node.PeerRemoved += (_, c) => output.Line($"* disconnected {Who(c)}{(c.CloseReason is { } r ? $" ({r})" : "")}");
            // AutoNAT v2: the chat asks its peers whether it is reachable and answers theirs (rate-limited dial-backs).
            await using var autonat = new P2PNet.Protocols.AutoNat.AutoNatService(node.Host,
                new P2PNet.Protocols.AutoNat.AutoNatOptions { PublicCidrs = publicCidrs }, loggers);
            // DCUtR from the start: relayed connections are hole punched to direct ones.
            await using var dcutr = new P2PNet.Protocols.Dcutr.DcutrService(node.Host,
                new P2PNet.Protocols.Dcutr.DcutrOptions { PublicCidrs = publicCidrs }, loggers);
            // The same lines as ping's for a circuit target: a relayed connection became direct, or stays relayed.
            dcutr.DirectConnectionEstablished += (_, e) => output.Line($"* direct connection to {e.Peer} at {e.Connection.RemoteAddress}");
            dcutr.HolePunchFailed += (_, e) => output.Line($"* hole punch failed: {e.Reason}");
            autonat.ReachabilityChanged += (_, e) =>
            {
                if (CliOptions.ReachabilityLine(e.Current) is { } line) output.Line(line);
            };
            // A channel whose connection was lost keeps its session: lines typed meanwhile are queued and sent on resume.
            node.ChannelOpening += (_, c) =>
            {
                int resuming = 0;
                c.StateChanged += (_, state) =>
                {
                    if (state is PeerChannelState.Reconnecting or PeerChannelState.Resuming)
                    {
                        if (Interlocked.Exchange(ref resuming, 1) == 0) output.Line($"* resuming {Who(c)}");
                    }
                    else if (state == PeerChannelState.Open && Interlocked.Exchange(ref resuming, 0) == 1) output.Line($"* resumed {Who(c)}");
                };
            };
            node.ChannelReopening += (_, e) =>
            {
                if (e.Reason == ChannelReopenReason.RelayLimit) output.Line($"* relay limit reached for {e.Channel.Identifier}, reopening");
            };
            // A channel that ran on a relayed connection resumed on a direct one (hole punched, or dialed).
            node.ChannelReopened += (_, e) =>
            {
                if (e.Reason == ChannelReopenReason.DirectConnection && e.Channel.Connection is { } c)
                    output.Line($"* channel with {e.Channel.Identifier} moved to the direct connection {c.RemoteAddress}");
            };
            // Nothing is dropped without a word: a line the peer never acknowledged is named.
            node.PacketsLost += (_, e) =>
            {
                foreach (var packet in e.Packets)
                    if (packet is PureMessagePacket message) output.Line($"* not delivered to {Who(e.Channel)}: {message.Message} ({e.Reason})");
            };

            try
            {
                await node.StartAsync(ct).ConfigureAwait(false);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                throw new CliException($"cannot listen on {string.Join(' ', listenAddresses)}: {ex.Message}", CliExit.Failure, ex);
            }
            output.Line($"peer id {identity.PeerId}");
            foreach (var address in node.ListenAddresses) output.Line($"listening on {address.WithPeerId(identity.PeerId)}");
            // Circuit relay v2 client: reservations on --relay, and relays chosen among peers with --auto-relay.
            bool autoRelaying = parse.GetValue(autoRelay);
            // Always there: a --peer or /connect address may be a circuit (…/p2p/RELAY/p2p-circuit/p2p/TARGET).
            await using var relayClient = new RelayClient(node.Host, loggerFactory: loggers);
            foreach (var circuit in await CliOptions.ReserveAsync(relayClient, relayAddresses, ct).ConfigureAwait(false))
                output.Line($"listening on {circuit.WithPeerId(identity.PeerId)}");
            await using var autoRelays = autoRelaying ? CliOptions.StartAutoRelay(node.Host, relayClient, autonat, loggers) : null;
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
                        await node.StopAsync(CancellationToken.None).ConfigureAwait(false);
                        throw new CliException($"{mechanism.Source}: {ex.Message}", CliExit.Failure, ex);
                    }
                    foreach (string line in DiscoveryCliOptions.Describe(mechanism)) output.Line(line);
                }
            }
            await using var bootstrapChannel = bootstrapOptions is null ? null : await BootstrapCliOptions.ConnectAsync(node, bootstrapOptions, output.Line, loggers, ct).ConfigureAwait(false);
            foreach (var address in peerAddresses)
            {
                if (IsSelf(node, address)) throw new CliException($"cannot connect to yourself ({node.Identifier})");
            }
            int reached = 0;
            foreach (var address in peerAddresses)
                if (await ConnectAsync(node, address, output, ct).ConfigureAwait(false)) reached++;
            // Alone with nobody to find: a chat that reached none of its --peer addresses has no one to talk to.
            if (peerAddresses.Count > 0 && reached == 0 && !discovering && bootstrapChannel is null)
            {
                await node.StopAsync(CancellationToken.None).ConfigureAwait(false);
                throw new CliException(peerAddresses.Count == 1 ? "the --peer could not be reached" : "none of the --peer addresses could be reached");
            }
            output.Line($"type a message and press Enter; {Commands}");

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
                if (string.IsNullOrWhiteSpace(line)) continue;
                if (line.StartsWith('/'))
                {
                    if (!await files.TryRunAsync(line.Trim(), ct).ConfigureAwait(false)) await RunCommandAsync(node, line.Trim(), output, ct).ConfigureAwait(false);
                }
                else if (line.Length > PureMessagePacket.MaxLength)
                {
                    // The channel would refuse to write it; say so here rather than lose the line.
                    output.Line($"* message too long ({line.Length} characters, at most {PureMessagePacket.MaxLength}): not sent");
                }
                else
                {
                    int sent = await node.BroadcastAsync(new PureMessagePacket(line), ct).ConfigureAwait(false);
                    if (sent == 0) output.Line("* no peer connected: message not sent");
                }
            }
            await node.StopAsync(CancellationToken.None).ConfigureAwait(false);
            return CliExit.Ok;
        }));
        return command;
    }

    /// <summary>The PeerId, and the display name the peer announced (control characters removed, length capped).</summary>
    private static string Who(PeerChannel channel)
    {
        string? name = channel.Peer.DisplayName;
        if (string.IsNullOrWhiteSpace(name)) return channel.Identifier.ToString();
        var clean = new string([.. name.Where(ch => !char.IsControl(ch)).Take(MaxShownNameLength)]).Trim();
        return clean.Length == 0 ? channel.Identifier.ToString() : $"{channel.Identifier} ({clean})";
    }

    /// <summary>True when <paramref name="address"/> names us: our PeerId, or one of our listen addresses.</summary>
    private static bool IsSelf(PeerNetwork node, Multiaddr address)
    {
        if (address.PeerId is { } id) return id == node.Identifier;
        var target = address.ToIPEndPoint();
        return target is not null && node.ListenAddresses.Any(a => a.ToIPEndPoint() is { } ours && ours.Port == target.Port &&
            (ours.Address.Equals(target.Address) || System.Net.IPAddress.IsLoopback(target.Address) && System.Net.IPAddress.IsLoopback(ours.Address)));
    }

    private static async Task RunCommandAsync(PeerNetwork node, string line, ChatOutput output, CancellationToken ct)
    {
        string[] parts = line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        switch (parts[0])
        {
            case "/peers":
                var channels = node.ActivePeerChannels;
                output.Line($"* {channels.Count} connected, {node.KnownPeers.Count} known");
                foreach (var c in channels)
                {
                    string who = Who(c);
                    string name = who.Length > c.Identifier.ToString().Length ? who[c.Identifier.ToString().Length..] : "";
                    output.Line($"*   {c.Identifier} {c.Direction} {c.State} {c.Peer.IP}:{c.Peer.Port}{name}");
                }
                break;
            case "/connect" when parts.Length == 2:
                if (CliOptions.TryParsePeer(parts[1], out var address) || CliOptions.TryParseCircuit(parts[1], out address)) await ConnectAsync(node, address, output, ct).ConfigureAwait(false);
                else output.Line($"* {CliOptions.NotAPeerAddress(parts[1])}");
                break;
            case "/msg" when parts.Length == 2:
                await SendToOneAsync(node, parts[1], output, ct).ConfigureAwait(false);
                break;
            case "/block" when parts.Length == 2:
                if (PeerId.TryParse(parts[1], out var id))
                {
                    node.BlockPeer(id);
                    output.Line($"* blocked {id}");
                }
                else output.Line($"* '{parts[1]}' is not a PeerId");
                break;
            case "/unblock" when parts.Length == 2:
                if (!PeerId.TryParse(parts[1], out var unblock)) output.Line($"* '{parts[1]}' is not a PeerId");
                else if (node.TrustPolicy.UnblockIdentifier(unblock)) output.Line($"* unblocked {unblock}");
                else output.Line($"* {unblock} was not blocked");
                break;
            case "/help":
                output.Lines(
                    "* /peers             list the open channels",
                    "* /connect ADDR      connect to a peer (/ip4/…/tcp/…/p2p/<PeerId>)",
                    "* /msg ID TEXT       send TEXT to one peer only",
                    "* /block ID          disconnect a peer and refuse it from now on",
                    "* /unblock ID        accept a blocked peer again",
                    "* /send PATH         share a file and offer it to every open channel",
                    "* /get N             fetch offer N into the current folder, verified",
                    "* /quit              close every channel and exit (also end of input, Ctrl+C)",
                    "* anything else      goes to every connected peer");
                break;
            default:
                output.Line($"* commands: {Commands}");
                break;
        }
    }

    private static async Task SendToOneAsync(PeerNetwork node, string args, ChatOutput output, CancellationToken ct)
    {
        string[] parts = args.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length < 2 || string.IsNullOrWhiteSpace(parts[1]))
        {
            output.Line("* usage: /msg PEERID TEXT");
            return;
        }
        if (!PeerId.TryParse(parts[0], out var id))
        {
            output.Line($"* '{parts[0]}' is not a PeerId");
            return;
        }
        if (node.FindChannel(id) is not { State: PeerChannelState.Open or PeerChannelState.Reconnecting or PeerChannelState.Resuming } channel)
        {
            output.Line($"* no open channel with {id}: message not sent");
            return;
        }
        if (parts[1].Length > PureMessagePacket.MaxLength)
        {
            output.Line($"* message too long ({parts[1].Length} characters, at most {PureMessagePacket.MaxLength}): not sent");
            return;
        }
        try
        {
            // A resuming channel queues it (sent once resumed, or reported not delivered); never wait on a full queue there.
            if (channel.State == PeerChannelState.Open) await channel.SendAsync(new PureMessagePacket(parts[1]), ct).ConfigureAwait(false);
            else if (!await TryQueueAsync(channel, new PureMessagePacket(parts[1]), ct).ConfigureAwait(false)) output.Line($"* {id} is resuming and its queue is full: message not sent");
        }
        catch (Exception ex) when (ex is PeerNetworkException or P2PNetException or IOException or InvalidOperationException)
        {
            output.Line($"* cannot send to {id}: {ex.Message}");
        }
    }

    private static async Task<bool> TryQueueAsync(PeerChannel channel, PureMessagePacket packet, CancellationToken ct)
    {
        using var brief = CancellationTokenSource.CreateLinkedTokenSource(ct);
        brief.CancelAfter(TimeSpan.FromMilliseconds(100));
        try
        {
            await channel.SendAsync(packet, brief.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Connects (status lines come from PeerAdded); true when a channel is open afterwards.</summary>
    private static async Task<bool> ConnectAsync(PeerNetwork node, Multiaddr address, ChatOutput output, CancellationToken ct)
    {
        if (IsSelf(node, address))
        {
            output.Line($"* cannot connect to yourself ({node.Identifier})");
            return false;
        }
        bool alreadyOpen = address.PeerId is { } target && node.FindChannel(target) is { State: PeerChannelState.Open };
        try
        {
            var channel = await node.ConnectAsync(address, ct).ConfigureAwait(false);
            if (alreadyOpen) output.Line($"* already connected to {Who(channel)}");
            return true;
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            output.Line($"* cannot connect to {address}: {ex.Message}");
            return false;
        }
    }

    /// <summary>Whole lines, one writer at a time (events arrive on several threads).</summary>
    private sealed class ChatOutput
    {
        private readonly Lock _sync = new();

        public void Line(string text) => Lines(text);

        /// <summary>Lines that belong together, not interleaved with others.</summary>
        public void Lines(params string[] texts)
        {
            lock (_sync)
            {
                foreach (string text in texts) Console.Out.WriteLine(text);
                Console.Out.Flush();
            }
        }
    }
}
