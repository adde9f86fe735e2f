using System.CommandLine;
using System.Globalization;
using P2PNet.Core;
using P2PNet.Protocols.Ping;
using P2PNet.Swarm;

namespace P2PNet.Cli;

/// <summary><c>p2pnet ping MULTIADDR</c>: dials a peer, pings it and prints each round-trip time.</summary>
internal static class PingCommand
{
    public static Command Create()
    {
        var target = new Argument<string>("multiaddr") { Description = "Peer to ping, e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…" };
        var count = new Option<int>("--count", "-c") { Description = "Number of pings", DefaultValueFactory = _ => 4 };
        var interval = new Option<double>("--interval", "-i") { Description = "Seconds between pings", DefaultValueFactory = _ => 1.0 };
        var timeout = new Option<double>("--timeout") { Description = "Seconds allowed for the dial and for each ping", DefaultValueFactory = _ => 10.0 };
        var key = CliOptions.OptionalKey();
        var verbose = CliOptions.Verbose();
        var command = new Command("ping", "Dial a peer and measure ping round-trip times") { target, count, interval, timeout, key, verbose };
        command.SetAction(async (parse, ct) =>
        {
            if (!CliOptions.TryParsePeer(parse.GetValue(target), out var address))
            {
                Console.Error.WriteLine($"error: {CliOptions.NotAPeerAddress(parse.GetValue(target))}");
                return 2;
            }
            int n = parse.GetValue(count);
            if (n < 1)
            {
                Console.Error.WriteLine("error: --count must be at least 1");
                return 2;
            }
            var perStep = TimeSpan.FromSeconds(parse.GetValue(timeout));
            using var loggers = ConsoleLogging.Create(parse.GetValue(verbose));
            using var identity = await CliOptions.LoadIdentityAsync(parse.GetValue(key), ct).ConfigureAwait(false);
            await using var host = new SwarmHost(identity, loggerFactory: loggers);
            var ping = new PingService(host);

            Connection connection;
            try
            {
                using var dialTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                dialTimeout.CancelAfter(perStep);
                connection = await host.DialAsync(address, dialTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                Console.Error.WriteLine($"error: cannot connect to {address}: {Describe(ex)}");
                return 1;
            }
            Console.Out.WriteLine($"connected to {connection.RemotePeerId} at {connection.RemoteAddress}");

            for (int i = 1; i <= n; i++)
            {
                try
                {
                    using var pingTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    pingTimeout.CancelAfter(perStep);
                    var rtt = await ping.PingAsync(connection, pingTimeout.Token).ConfigureAwait(false);
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pong from {connection.RemotePeerId}: seq={i} time={rtt.TotalMilliseconds:0.###} ms"));
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    Console.Error.WriteLine($"error: ping {i} to {connection.RemotePeerId} failed: {Describe(ex)}");
                    return 1;
                }
                if (i < n) await Task.Delay(TimeSpan.FromSeconds(parse.GetValue(interval)), ct).ConfigureAwait(false);
            }
            return 0;
        });
        return command;
    }

    private static string Describe(Exception ex) => ex is OperationCanceledException ? "timed out" : ex.Message;
}
