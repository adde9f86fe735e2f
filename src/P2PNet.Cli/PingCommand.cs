using System.CommandLine;
using System.Globalization;
using P2PNet.Core;
using P2PNet.Protocols.Dcutr;
using P2PNet.Protocols.Identify;
using P2PNet.Protocols.Ping;
using P2PNet.Protocols.Relay;
using P2PNet.Swarm;

namespace P2PNet.Cli;

/// <summary>
/// <c>p2pnet ping MULTIADDR</c>: dials a peer, pings it, prints <c>pong from &lt;PeerId&gt;: seq=&lt;n&gt; time=&lt;ms&gt; ms</c>
/// per round trip and ends (also on Ctrl+C once connected) with
/// <c>--- &lt;PeerId&gt;: &lt;sent&gt; sent, &lt;received&gt; received, &lt;loss&gt;% loss, rtt min/avg/max = &lt;a&gt;/&lt;b&gt;/&lt;c&gt; ms</c>.
/// Exit code 0 when a pong came back, 1 when none did or the dial failed, 130 on Ctrl+C during the dial.
/// A circuit target (<c>…/p2p/RELAY/p2p-circuit/p2p/ID</c>) is pinged through the relay while DCUtR hole punches: ping
/// listens (an ephemeral TCP port with port reuse, or <c>--listen</c>), tags each line <c>(relayed)</c> or
/// <c>(direct)</c>, prints <c>* direct connection to &lt;PeerId&gt; at &lt;multiaddr&gt;</c> or
/// <c>* hole punch failed: &lt;reason&gt;</c>, and does not exit before one of them.
/// </summary>
internal static class PingCommand
{
    public static Command Create()
    {
        var target = new Argument<string>("multiaddr") { Description = "Peer to ping, e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…" };
        var count = new Option<int>("--count", "-c") { Description = "Number of pings", DefaultValueFactory = _ => 4 };
        CliOptions.AddRange(count, 1, int.MaxValue, "--count must be at least 1");
        var interval = new Option<double>("--interval", "-i") { Description = "Seconds between pings", DefaultValueFactory = _ => 1.0 };
        CliOptions.AddRange(interval, 0, 3600, "--interval must be 0-3600 seconds");
        var timeout = new Option<double>("--timeout") { Description = "Seconds allowed for the dial and for each ping", DefaultValueFactory = _ => 10.0 };
        CliOptions.AddRange(timeout, 0.001, 3600, "--timeout must be above 0 and at most 3600 seconds");
        var key = CliOptions.OptionalKey();
        var json = CliOptions.Json();
        var verbose = CliOptions.Verbose();
        var logLevel = CliOptions.LogLevel();
        var publicCidr = CliOptions.PublicCidr();
        var listen = new Option<string[]>("--listen", "-l")
        {
            Description = "Multiaddr to listen on for hole punching (repeatable); a circuit target listens on /ip4/0.0.0.0/tcp/0 by default",
        };
        var command = new Command("ping", "Dial a peer and measure ping round-trip times") { target, count, interval, timeout, key, json, listen, publicCidr, verbose, logLevel };
        command.SetAction(CliRun.Guard(async (parse, ct) =>
        {
            if (!CliOptions.TryParsePeer(parse.GetValue(target), out var address) && !CliOptions.TryParseCircuit(parse.GetValue(target), out address))
                throw new CliException(CliOptions.NotAPeerAddress(parse.GetValue(target)), CliExit.Usage);
            // Ping runs no AutoNAT: the ranges are for hole punching (DCUtR).
            var publicCidrs = CliOptions.ParsePublicCidrs(parse, publicCidr);
            bool circuit = address.IsCircuit;
            List<Multiaddr>? listenAddresses = [];
            if (parse.GetValue(listen) is { Length: > 0 }) listenAddresses = CliOptions.ParseListen(parse, listen, "/ip4/0.0.0.0/tcp/0");
            else if (circuit) listenAddresses.Add(Multiaddr.Parse("/ip4/0.0.0.0/tcp/0"));
            if (listenAddresses is null) return CliExit.Usage;
            int n = parse.GetValue(count);
            bool asJson = parse.GetValue(json);
            var perStep = TimeSpan.FromSeconds(parse.GetValue(timeout));
            using var loggers = ConsoleLogging.Create(CliOptions.Level(parse, verbose, logLevel));
            using var identity = await KeyFile.LoadOrEphemeralAsync(parse.GetValue(key), ct).ConfigureAwait(false);
            if (address.PeerId == identity.PeerId) throw new CliException($"cannot connect to yourself ({identity.PeerId})");
            await using var host = new SwarmHost(identity, loggerFactory: loggers);
            var ping = new PingService(host);
            // Circuit addresses (…/p2p/RELAY/p2p-circuit/p2p/TARGET) dial through the relay.
            await using var relayClient = new RelayClient(host, loggerFactory: loggers);
            // Answer the target's identify request: a listen node asks every peer, and warns when it goes unanswered.
            // Through a relay we ask too: the relay's answer tells us the address it observes, which hole punching sends.
            _ = new IdentifyService(host, new IdentifyOptions { IdentifyOnConnect = circuit }, loggers);
            foreach (var listenAddress in listenAddresses)
            {
                try
                {
                    await host.ListenAsync(listenAddress, ct).ConfigureAwait(false);
                }
                catch (System.Net.Sockets.SocketException ex)
                {
                    throw new CliException($"cannot listen on {listenAddress}: {ex.Message}", CliExit.Failure, ex);
                }
            }
            // DCUtR on the relayed connection: its outcome is printed once, and ping waits for it before exiting.
            await using var dcutr = circuit ? new DcutrService(host, new DcutrOptions { PublicCidrs = publicCidrs }, loggers) : null;
            var holePunched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var targetPeer = address.PeerId!;
            // Set only after the "* direct connection" line is out, so no "(direct)" pong can precede that line.
            Connection? punched = null;
            if (dcutr is not null)
            {
                dcutr.DirectConnectionEstablished += (_, e) =>
                {
                    if (e.Peer != targetPeer || holePunched.Task.IsCompleted) return;
                    if (asJson) CliJson.Write(new HolePunchJson("direct", e.Peer.ToString()) { Addr = e.Connection.RemoteAddress.ToString(), Attempts = e.Attempts, ElapsedMs = Math.Round(e.Elapsed.TotalMilliseconds, 1) }, CliJsonContext.Default.HolePunchJson);
                    else Console.Out.WriteLine($"* direct connection to {e.Peer} at {e.Connection.RemoteAddress}");
                    Volatile.Write(ref punched, e.Connection);
                    holePunched.TrySetResult();
                };
                dcutr.HolePunchFailed += (_, e) =>
                {
                    if (e.Peer != targetPeer || holePunched.Task.IsCompleted) return;
                    if (asJson) CliJson.Write(new HolePunchJson("holepunch-failed", e.Peer.ToString()) { Reason = e.Reason, Attempts = e.Attempts }, CliJsonContext.Default.HolePunchJson);
                    else Console.Out.WriteLine($"* hole punch failed: {e.Reason}");
                    holePunched.TrySetResult();
                };
            }

            Connection connection;
            try
            {
                using var dialTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                dialTimeout.CancelAfter(perStep);
                connection = await host.DialAsync(address, dialTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                throw new CliException($"cannot connect to {address}: {Describe(ex)}", CliExit.Failure, ex);
            }
            string peer = connection.RemotePeerId.ToString();
            if (asJson) CliJson.Write(new ConnectionJson("opened", peer, connection.RemoteAddress.ToString(), "outbound"), CliJsonContext.Default.ConnectionJson);
            else Console.Out.WriteLine($"connected to {peer} at {connection.RemoteAddress}");

            var rtts = new List<double>();
            int sent = 0;
            // From here Ctrl+C ends the run with the summary, as ping(8) does.
            for (int i = 1; i <= n && !ct.IsCancellationRequested; i++)
            {
                sent++;
                try
                {
                    using var pingTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    pingTimeout.CancelAfter(perStep);
                    // Once hole punching succeeded (and said so) the direct connection carries the pings; until then the
                    // dialed one does, even if the host already prefers a direct connection whose line is not printed yet.
                    var current = Volatile.Read(ref punched) is { IsOpen: true } direct ? direct
                        : connection.IsOpen ? connection
                        : host.FindConnection(connection.RemotePeerId) ?? connection;
                    string? path = circuit ? (DcutrService.IsRelayed(current) ? "relayed" : "direct") : null;
                    var rtt = await ping.PingAsync(current, pingTimeout.Token).ConfigureAwait(false);
                    rtts.Add(rtt.TotalMilliseconds);
                    if (asJson) CliJson.Write(new PongJson(peer, i, Math.Round(rtt.TotalMilliseconds, 3)) { Path = path }, CliJsonContext.Default.PongJson);
                    else Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pong from {peer}: seq={i} time={rtt.TotalMilliseconds:0.###} ms{(path is null ? "" : $" ({path})")}"));
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    sent--; // interrupted while in flight: neither lost nor answered
                    break;
                }
                catch (Exception ex)
                {
                    Console.Error.WriteLine($"error: ping {i} to {peer} failed: {Describe(ex)}");
                    if (ex is not OperationCanceledException) break; // the connection is gone: later pings would fail the same way
                }
                if (i < n)
                {
                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(parse.GetValue(interval)), ct).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }
            if (dcutr is not null)
            {
                try
                {
                    await holePunched.Task.WaitAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                }
            }
            Summarize(peer, sent, rtts, asJson);
            return rtts.Count > 0 ? CliExit.Ok : CliExit.Failure;
        }));
        return command;
    }

    private static void Summarize(string peer, int sent, List<double> rtts, bool asJson)
    {
        double loss = sent == 0 ? 0 : (sent - rtts.Count) * 100.0 / sent;
        double min = rtts.Count > 0 ? rtts.Min() : 0, avg = rtts.Count > 0 ? rtts.Average() : 0, max = rtts.Count > 0 ? rtts.Max() : 0;
        if (asJson)
        {
            CliJson.Write(new SummaryJson(peer, sent, rtts.Count, Math.Round(loss, 1),
                rtts.Count > 0 ? Math.Round(min, 3) : null, rtts.Count > 0 ? Math.Round(avg, 3) : null, rtts.Count > 0 ? Math.Round(max, 3) : null),
                CliJsonContext.Default.SummaryJson);
            return;
        }
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"--- {peer}: {sent} sent, {rtts.Count} received, {loss:0.#}% loss, rtt min/avg/max = {min:0.###}/{avg:0.###}/{max:0.###} ms"));
        Console.Out.Flush();
    }

    private static string Describe(Exception ex) => ex is OperationCanceledException ? "timed out" : ex.Message;
}
