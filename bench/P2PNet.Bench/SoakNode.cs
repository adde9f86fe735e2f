using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using P2PNet.Bootstrap;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Bootstrap;
using P2PNet.Peers.Packets;

namespace P2PNet.Bench;

/// <summary>
/// The soak's node (<c>soak-node</c>, hidden; started by <see cref="SoakBench"/> inside its own network namespace).
/// It finds the others through the bootstrap server (registers and asks every 2 s, so it survives the server's
/// restarts), opens a channel to every node of a higher index (the lower index dials, the other side resumes), and
/// sends each other node a PureMessage <c>"src epoch seq"</c> at a steady rate. Everything the driver counts is a
/// stdout line written before the fact it reports can be acknowledged or sent, so a kill -9 loses no line:
/// <c>S dst seq</c> before SendAsync, <c>F dst seq exception</c> when SendAsync refused it, <c>R src epoch seq</c> inside the
/// message handler (the acknowledgement follows the handler), <c>L dst seq reason</c> for each packet reported in
/// PacketsLost, <c>C peer resuming|resumed</c> when a channel's connection was lost and when it is open again,
/// <c>M managed committed threads</c> every 30 s (the managed heap after a full collection, the GC's committed bytes, threads)
/// followed by <c>X key=value …</c> (<see cref="SoakMemory"/>: the resident memory by kind, JIT, GC and malloc totals).
/// stdin: <c>stop</c> (stop sending), <c>mem</c> (write M and X now), <c>quit</c> (stop the network gracefully and exit).
/// Node identities are derived from <c>--key-base</c> and the index, so a restarted node has the same key and
/// every node knows every other's PeerId.
/// </summary>
internal static class SoakNode
{
    public static PeerId PeerIdOf(string keyBase, int index)
    {
        using var identity = Identity.FromSeed(Seed(keyBase, index));
        return identity.PeerId;
    }

    private static byte[] Seed(string keyBase, int index) =>
        SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{keyBase}/{index.ToString(CultureInfo.InvariantCulture)}"));

    public static async Task<int> RunAsync(string[] args)
    {
        int index = 0, nodes = 12, epoch = 0;
        double rate = 5, keepAlive = 0;
        string keyBase = "soak", listen = "/ip4/127.0.0.1/tcp/0", bootstrapUrl = "";
        for (int i = 0; i < args.Length - 1; i++)
        {
            switch (args[i])
            {
                case "--index": index = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--nodes": nodes = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--epoch": epoch = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--rate": rate = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--keepalive": keepAlive = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--key-base": keyBase = args[i + 1]; break;
                case "--listen": listen = args[i + 1]; break;
                case "--bootstrap": bootstrapUrl = args[i + 1]; break;
            }
        }
        var others = new Dictionary<PeerId, int>();
        for (int j = 0; j < nodes; j++) if (j != index) others[PeerIdOf(keyBase, j)] = j;

        var identity = Identity.FromSeed(Seed(keyBase, index));
        var options = new PeerNetworkOptions
        {
            Identity = identity,
            ListenAddresses = [Multiaddr.Parse(listen)],
            NetworkName = "soak",
            // A node killed and restarted takes a few seconds under load, a cut link up to 10 s: redial for ~15 s.
            MaxConnectRetries = 10,
            RetryMaxDelay = TimeSpan.FromSeconds(2),
        };
        if (keepAlive > 0)
        {
            // Yamux pings every keepAlive seconds and fails the connection after as long without an answer, so a cut
            // longer than about twice that breaks the connection and the channel resumes (keep-alive is off by default).
            var yamux = options.Swarm.Upgrade.Yamux with { KeepAliveInterval = TimeSpan.FromSeconds(keepAlive), KeepAliveTimeout = TimeSpan.FromSeconds(keepAlive) };
            options = options with { Swarm = options.Swarm with { Upgrade = options.Swarm.Upgrade with { Yamux = yamux } } };
        }
        var output = Console.Out;
        // The library's log (information and up) goes to stderr, which the driver keeps in nodeN.err.
        using var loggers = LoggerFactory.Create(b => b
            .SetMinimumLevel(LogLevel.Information)
            .AddFilter("P2PNet.Peers.PeerNetwork", LogLevel.Warning) // not each message received
            .AddConsole(c => c.LogToStandardErrorThreshold = LogLevel.Trace)
            .AddSimpleConsole(c => { c.SingleLine = true; c.TimestampFormat = "HH:mm:ss.fff "; c.UseUtcTimestamp = true; }));
        await using var network = new PeerNetwork(options, loggers);
        network.MessageReceived += (_, e) =>
        {
            // Written before the handler returns, so before the acknowledgement can leave.
            output.WriteLine($"R {e.Message}");
        };
        network.PeerAdded += (_, channel) =>
        {
            if (!others.TryGetValue(channel.Identifier, out int peer)) return;
            int interrupted = 0;
            channel.StateChanged += (_, state) =>
            {
                // C peer resuming|resumed: a lost connection, then the same channel open again on a new one.
                if (state is PeerChannelState.Reconnecting or PeerChannelState.Resuming)
                {
                    if (Interlocked.Exchange(ref interrupted, 1) == 0) output.WriteLine($"C {peer} resuming");
                }
                else if (state == PeerChannelState.Open && Interlocked.Exchange(ref interrupted, 0) == 1)
                {
                    output.WriteLine($"C {peer} resumed");
                }
            };
        };
        network.PacketsLost += (_, e) =>
        {
            if (!others.TryGetValue(e.Channel.Identifier, out int dst)) return;
            string reason = e.Reason.Replace(' ', '_');
            foreach (var packet in e.Packets)
                if (packet is PureMessagePacket message && ParseSeq(message.Message) is { } seq) output.WriteLine($"L {dst} {seq} {reason}");
        };
        await network.StartAsync();
        output.WriteLine($"ready {network.Identifier}");

        using var stop = new CancellationTokenSource();
        using var quit = new CancellationTokenSource();
        using var http = new HttpClient();
        await using var bootstrap = new BootstrapChannel(network, new BootstrapChannelOptions
        {
            ServerUrl = new Uri(bootstrapUrl),
            AutoConnectPeers = 0,
            MaxPeers = 50,
            AdvertisedAddresses = [Multiaddr.Parse(listen)],
            RequestTimeout = TimeSpan.FromSeconds(3),
        }, http);

        var tasks = new List<Task> { DiscoverAndDialAsync(network, bootstrap, others, index, quit.Token) };
        foreach (var (peer, dst) in others) tasks.Add(SendLoopAsync(network, peer, dst, index, epoch, rate, output, stop.Token));
        tasks.Add(HeapLoopAsync(output, quit.Token));
        tasks.Add(Task.Run(async () =>
        {
            while (await Console.In.ReadLineAsync() is { } line)
            {
                if (line == "stop") { await stop.CancelAsync(); output.WriteLine("stopped"); }
                if (line == "quit") break;
                if (line == "mem") WriteHeap(output);
            }
            await stop.CancelAsync();
            await quit.CancelAsync();
        }));
        await quit.Token.WhenCanceledAsync();
        await Task.WhenAll(tasks);
        await network.StopAsync();
        output.WriteLine("bye");
        return 0;
    }

    private static Task WhenCanceledAsync(this CancellationToken token)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.Register(() => done.TrySetResult());
        return done.Task;
    }

    // M managed committed threads: every 30 s (and on "mem"), the managed heap after a full blocking collection, the GC's
    // committed bytes and the process's threads, so that the driver can tell managed growth (a leak in our objects) from
    // native growth; then X key=KiB …: where the resident memory lives (SoakMemory).
    private static async Task HeapLoopAsync(TextWriter output, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(30));
        try
        {
            while (await timer.WaitForNextTickAsync(ct)) WriteHeap(output);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private static void WriteHeap(TextWriter output)
    {
        long managed = GC.GetTotalMemory(forceFullCollection: true);
        long committed = GC.GetGCMemoryInfo(GCKind.FullBlocking).TotalCommittedBytes;
        int threads;
        using (var self = System.Diagnostics.Process.GetCurrentProcess()) threads = self.Threads.Count;
        string memory = SoakMemory.Line();
        lock (output)
        {
            output.WriteLine($"M {managed.ToString(CultureInfo.InvariantCulture)} {committed.ToString(CultureInfo.InvariantCulture)} {threads.ToString(CultureInfo.InvariantCulture)}");
            output.WriteLine(memory);
        }
    }

    private static long? ParseSeq(string message)
    {
        int space = message.LastIndexOf(' ');
        return space > 0 && long.TryParse(message.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long seq) ? seq : null;
    }

    // Registers and asks the server every 2 s (a server restart or a cut link only delays it), and keeps a channel
    // open to every node of a higher index: an outbound channel that gave up is replaced by a fresh one.
    private static async Task DiscoverAndDialAsync(PeerNetwork network, BootstrapChannel bootstrap, Dictionary<PeerId, int> others, int index, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        var dialing = new Dictionary<PeerId, Task>();
        try
        {
            do
            {
                try
                {
                    await bootstrap.RegisterAsync(ct);
                    await bootstrap.RefreshPeersAsync(ct);
                }
                catch (Exception ex) when (ex is BootstrapException or HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                }
                foreach (var (peer, j) in others)
                {
                    if (j < index) continue;
                    if (dialing.TryGetValue(peer, out var pending) && !pending.IsCompleted) continue;
                    if (network.FindChannel(peer) is { State: not PeerChannelState.Closed }) continue;
                    var known = network.KnownPeers.FirstOrDefault(p => p.Identifier == peer);
                    if (known is null) continue;
                    dialing[peer] = DialAsync(network, known, ct);
                }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        await Task.WhenAll(dialing.Values);
    }

    private static async Task DialAsync(PeerNetwork network, IPeer peer, CancellationToken ct)
    {
        try
        {
            await network.OpenPeerChannelAsync(peer, ct);
        }
        catch (Exception ex) when (ex is PeerNetworkException or IOException or OperationCanceledException or ObjectDisposedException or P2PNetException)
        {
        }
    }

    private static async Task SendLoopAsync(PeerNetwork network, PeerId peer, int dst, int index, int epoch, double rate, TextWriter output, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / rate));
        long seq = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                if (network.FindChannel(peer) is not { State: not PeerChannelState.Closed } channel) continue;
                long next = seq + 1;
                var packet = new PureMessagePacket($"{index.ToString(CultureInfo.InvariantCulture)} {epoch.ToString(CultureInfo.InvariantCulture)} {next.ToString(CultureInfo.InvariantCulture)}");
                output.WriteLine($"S {dst} {next}");
                seq = next;
                // Not linked to ct: a "stop" arriving between the tick and this send would refuse a packet already
                // counted as sent (the 2-node soak test saw that as reported=1 about one run in ten).
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                try
                {
                    await channel.SendAsync(packet, timeout.Token);
                }
                catch (Exception ex) when (ex is ObjectDisposedException or OperationCanceledException or PeerNetworkException)
                {
                    output.WriteLine($"F {dst} {next} {ex.GetType().Name}"); // the ledger counts refusals by exception
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>The soak's bootstrap server (<c>soak-bootstrap</c>, hidden): rate limits off, the database kept across restarts.</summary>
    public static async Task<int> BootstrapAsync(string[] args)
    {
        string url = "http://127.0.0.1:5080", db = "soak-bootstrap.db";
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--url") url = args[i + 1];
            if (args[i] == "--db") db = args[i + 1];
        }
        await using var server = await BootstrapServer.StartAsync(
            ["--urls", url, "--Logging:LogLevel:Default=Warning"],
            o =>
            {
                o.Database = db;
                o.RegistrationsPerMinute = int.MaxValue;
                o.QueriesPerMinute = int.MaxValue;
            });
        Console.WriteLine($"ready {server.Urls[0]}");
        while (await Console.In.ReadLineAsync() is { } line)
            if (line == "quit") break;
        return 0;
    }
}
