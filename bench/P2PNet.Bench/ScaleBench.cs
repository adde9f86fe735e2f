using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Swarm;

namespace P2PNet.Bench;

/// <summary>
/// <c>scale</c>: a server node and client processes on loopback (this program re-launched as its own children,
/// each under <c>ulimit -n</c> raised to its hard limit). (a) managed heap and RSS per idle PeerChannel on each
/// side at each count of <c>--channels</c> (default 1000; e.g. 1000,5000,10000), and what the server keeps once
/// they closed; (b) <c>--cycles</c> connect, one message, disconnect cycles (default 2000), each with a fresh
/// PeerId: the server's heap after a forced GC, RSS, FDs and KnownPeers every 1000 cycles; (c) the time for a good
/// peer (127.0.0.1) to get a channel to an idle node, then while <c>--attack</c> idle sockets (default 1000) from
/// 127.0.0.2 are held. Other options: --per-client N channels per client process (default 2500).
/// </summary>
internal static class ScaleBench
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(10);
    private const string IdleProtocol = "/p2pnet/scale-idle/1.0.0";

    public static async Task<int> RunAsync(string[] args)
    {
        int[] channels = [1000];
        int cycles = 2000, attack = 1000, perClient = 2500, storeCapacity = new PeerStoreOptions().Capacity;
        for (int i = 0; i < args.Length - 1; i++)
        {
            switch (args[i])
            {
                case "--channels": channels = [.. args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).Order()]; break;
                case "--cycles": cycles = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--attack": attack = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--per-client": perClient = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--store-capacity": storeCapacity = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
            }
        }
        Console.WriteLine($"P2PNet scale benchmark: loopback, {Environment.ProcessorCount} cores, .NET {Environment.Version}, channels {string.Join('/', channels)}, cycles {cycles}, attack {attack}");
        if (channels.Length > 0 && channels[^1] > 0)
        {
            await IdleChannelsAsync(channels, perClient, raw: true);
            await IdleChannelsAsync(channels, perClient, raw: false);
        }
        if (cycles > 0) await CyclesAsync(cycles, storeCapacity);
        if (attack > 0) await AdmissionAsync(attack);
        return 0;
    }

    // ------------------------------------------------------------------ (a) idle channels

    private static async Task IdleChannelsAsync(int[] checkpoints, int perClient, bool raw)
    {
        Console.WriteLine();
        Console.WriteLine(raw
            ? "(a1) idle connections without a PeerChannel (TCP + Noise + yamux + one open stream), after a forced GC"
            : "(a2) idle PeerChannels (TCP + Noise + yamux + channel, one PeerNetwork per client channel), after a forced GC");
        await using var server = await Child.StartAsync("scale-server", "--bulk");
        string address = server.Ready;
        var serverBase = Mem.Parse(await server.AskAsync("MEASURE", "MEM"));
        int clientCount = (checkpoints[^1] + perClient - 1) / perClient;
        var clients = new List<Child>();
        try
        {
            for (int i = 0; i < clientCount; i++) clients.Add(await Child.StartAsync("scale-client", "--addr", address));
            var clientBase = new Mem[clientCount];
            for (int i = 0; i < clientCount; i++) clientBase[i] = Mem.Parse(await clients[i].AskAsync("MEASURE", "MEM"));
            Console.WriteLine($"server at start: heap {Mem.MiB(serverBase.Heap)}, RSS {Mem.MiB(serverBase.Rss)}; {clientCount} client process(es)");
            Console.WriteLine("channels | server heap/ch | server RSS/ch | client heap/ch | client RSS/ch | server heap, RSS | setup time");
            int[] held = new int[clientCount];
            foreach (int target in checkpoints)
            {
                var watch = Stopwatch.StartNew();
                // Fill the clients evenly; they connect in parallel.
                var steps = new List<Task<string>>();
                for (int i = 0; i < clientCount; i++)
                {
                    int want = target / clientCount + (i < target % clientCount ? 1 : 0);
                    int more = want - held[i];
                    held[i] = Math.Max(held[i], want);
                    if (more > 0) steps.Add(clients[i].AskAsync($"{(raw ? "CONNECTRAW" : "CONNECT")} {more}", "OK"));
                }
                await Task.WhenAll(steps);
                string measure = raw ? "MEASURERAW" : "MEASURE";
                await PollAsync(async () => Mem.Parse(await server.AskAsync(measure, "MEM")).Channels >= target, "the server to see every channel");
                double seconds = watch.Elapsed.TotalSeconds;
                var s = Mem.Parse(await server.AskAsync(measure, "MEM"));
                long clientHeap = 0, clientRss = 0;
                for (int i = 0; i < clientCount; i++)
                {
                    var c = Mem.Parse(await clients[i].AskAsync("MEASURE", "MEM"));
                    clientHeap += c.Heap - clientBase[i].Heap;
                    clientRss += c.Rss - clientBase[i].Rss;
                }
                Console.WriteLine($"{target,8} | {Mem.KiB((s.Heap - serverBase.Heap) / target),14} | {Mem.KiB((s.Rss - serverBase.Rss) / target),13} | "
                    + $"{Mem.KiB(clientHeap / target),14} | {Mem.KiB(clientRss / target),13} | {Mem.MiB(s.Heap)}, {Mem.MiB(s.Rss)} | {seconds:0.0} s");
            }
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }
        await PollAsync(async () => Mem.Parse(await server.AskAsync(raw ? "MEASURERAW" : "MEASURE", "MEM")).Channels == 0, "the server to close every channel");
        var after = Mem.Parse(await server.AskAsync("MEASURE", "MEM"));
        Console.WriteLine($"server after all channels closed: heap {Mem.MiB(after.Heap)} (start {Mem.MiB(serverBase.Heap)}), RSS {Mem.MiB(after.Rss)} (start {Mem.MiB(serverBase.Rss)}), FDs {after.Fds} (start {serverBase.Fds})");
    }

    // ------------------------------------------------------------------ (b) cycles

    private static async Task CyclesAsync(int cycles, int storeCapacity)
    {
        Console.WriteLine();
        Console.WriteLine($"(b) {cycles} connect, one message, disconnect cycles, a fresh PeerId each (server side, after a forced GC)");
        // The server's peer store keeps every peer it met up to its capacity (default 4096), so its heap grows until
        // that many cycles; --store-capacity N sets it (e.g. 1000, KnownPeers' cap) to show what stays after that.
        await using var server = await Child.StartAsync("scale-server", "--bulk", "--store-capacity", storeCapacity.ToString(CultureInfo.InvariantCulture));
        await using var client = await Child.StartAsync("scale-client", "--addr", server.Ready);
        var start = Mem.Parse(await server.AskAsync("MEASURE", "MEM"));
        Console.WriteLine($"  cycles | heap      | RSS       | FDs   | KnownPeers (cap 1000) | peer store (cap {storeCapacity,4}) | messages | cycles/s");
        Print(0, start, 0);
        Mem? first = null, last = null;
        int done = 0;
        const int step = 1000;
        while (done < cycles)
        {
            int n = Math.Min(step, cycles - done);
            var watch = Stopwatch.StartNew();
            await client.AskAsync($"CYCLE {n}", "OK");
            done += n;
            double rate = n / watch.Elapsed.TotalSeconds;
            await PollAsync(async () => Mem.Parse(await server.AskAsync("MEASURE", "MEM")).Channels == 0, "the server to close the cycled channels");
            var m = Mem.Parse(await server.AskAsync("MEASURE", "MEM"));
            first ??= m;
            last = m;
            Print(done, m, rate);
        }
        if (first is { } f && last is { } l && done > step)
        {
            Console.WriteLine($"growth after the first {step}: heap {Growth(f.Heap, l.Heap)}, RSS {Growth(f.Rss, l.Rss)}, FDs {f.Fds} -> {l.Fds} (aim: within 2%)");
        }

        static void Print(int cycles, Mem m, double rate) => Console.WriteLine(
            $"{cycles,8} | {Mem.MiB(m.Heap),9} | {Mem.MiB(m.Rss),9} | {m.Fds,5} | {m.Known,21} | {m.Stored,21} | {m.Messages,8} | {(rate > 0 ? rate.ToString("0", CultureInfo.InvariantCulture) : "-")}");
        static string Growth(long from, long to) => $"{(to - from) * 100.0 / from:+0.0;-0.0;0.0}%";
    }

    // ------------------------------------------------------------------ (c) admission under idle sockets

    private static async Task AdmissionAsync(int sockets)
    {
        Console.WriteLine();
        Console.WriteLine($"(c) time for a good peer (127.0.0.1) to get a channel: idle node, then with {sockets} idle sockets from 127.0.0.2 held");
        await using var server = await Child.StartAsync("scale-server");
        await using var attacker = await Child.StartAsync("scale-client", "--addr", server.Ready);
        await using var good = await Child.StartAsync("scale-client", "--addr", server.Ready);
        await good.AskAsync("ADMIT", "ADMIT"); // warm-up (JIT) in the good peer's process
        string idle = await good.AskAsync("ADMIT", "ADMIT");
        Console.WriteLine($"idle node           : {idle["ADMIT ".Length..]}");
        await attacker.AskAsync($"ATTACK {sockets}", "OK");
        string attacked = await good.AskAsync("ADMIT", "ADMIT");
        Console.WriteLine($"{sockets,5} idle sockets  : {attacked["ADMIT ".Length..]}");
        await attacker.AskAsync("RELEASE", "OK");
    }

    private static async Task PollAsync(Func<Task<bool>> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > StepTimeout) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(200);
        }
    }

    // ------------------------------------------------------------------ children

    /// <summary>Server child: one node listening on 127.0.0.1; answers MEASURE until QUIT.</summary>
    public static async Task<int> ServerAsync(string[] args)
    {
        // --bulk (rows a and b): several client processes dial 16 at a time each from 127.0.0.1, more than the loopback
        // per-IP handshake default (64) once their handshakes overlap, and a loaded machine may be slower than the 2 s
        // first-byte timeout: raise both. Row (c) keeps the defaults it measures.
        bool bulk = args.Contains("--bulk");
        int storeAt = Array.IndexOf(args, "--store-capacity");
        var store = storeAt >= 0 ? new PeerStoreOptions { Capacity = int.Parse(args[storeAt + 1], CultureInfo.InvariantCulture) } : new PeerStoreOptions();
        long messages = 0, idleStreams = 0;
        var options = new PeerNetworkOptions
        {
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
            // The bench holds 10,000+ connections from one address (the raw ones from one PeerId): it raises the total
            // and the per-peer limits. Without --bulk, handshakes per loopback address stay at their default (64), so
            // the admission row (c) still measures the per-IP defence against 127.0.0.2.
            Swarm = new SwarmOptions
            {
                MaxConnections = 100_000,
                MaxPendingInboundHandshakes = bulk ? 1024 : new SwarmOptions().MaxPendingInboundHandshakes,
                PeerStore = store,
                Upgrade = bulk ? new() { FirstByteTimeout = TimeSpan.FromSeconds(10) } : new(),
                Limits = new ResourceLimits
                {
                    MaxConnectionsPerPeer = int.MaxValue, MaxInboundStreamsPerPeer = int.MaxValue, MaxInboundStreams = int.MaxValue,
                    MaxInboundStreamsPerProtocol = int.MaxValue,
                    MaxPendingHandshakesPerLoopbackIp = bulk ? 1024 : new ResourceLimits().MaxPendingHandshakesPerLoopbackIp,
                },
            },
        };
        await using var network = new PeerNetwork(options);
        network.MessageReceived += (_, _) => Interlocked.Increment(ref messages);
        // (a1): a stream that stays open and idle until the client closes its connection.
        network.Host.SetStreamHandler(IdleProtocol, async (stream, _, ct) =>
        {
            Interlocked.Increment(ref idleStreams);
            try
            {
                while (await stream.ReadAsync(new byte[1], ct) > 0) { }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
            {
            }
            finally
            {
                Interlocked.Decrement(ref idleStreams);
            }
        });
        var addresses = await network.StartAsync();
        Console.WriteLine($"READY {addresses[0].WithPeerId(network.Identifier)}");
        while (Console.ReadLine() is { } line)
        {
            if (line == "QUIT") break;
            if (line == "MEASURE") Console.WriteLine(Mem.Measure(network.ActivePeerChannels.Count, network.KnownPeers.Count, Interlocked.Read(ref messages), network.Host.PeerStore.Count));
            if (line == "MEASURERAW") Console.WriteLine(Mem.Measure((int)Interlocked.Read(ref idleStreams), network.KnownPeers.Count, 0));
        }
        return 0;
    }

    /// <summary>Client child: holds channels (one PeerNetwork, hence one PeerId, each), runs cycles, attacks, times admission.</summary>
    public static async Task<int> ClientAsync(string[] args)
    {
        var target = Multiaddr.Parse(args[Array.IndexOf(args, "--addr") + 1]);
        var held = new List<PeerNetwork>();
        using var rawId = Identity.Generate();
        await using var rawHost = new SwarmHost(rawId, new SwarmOptions { MaxConnections = 100_000, Limits = new ResourceLimits { MaxConnectionsPerPeer = int.MaxValue } });
        var rawHeld = new List<(Connection Connection, MuxedStream Stream)>();
        var attack = new List<Socket>();
        Console.WriteLine("READY");
        try
        {
            while (Console.ReadLine() is { } line)
            {
                string[] parts = line.Split(' ');
                switch (parts[0])
                {
                    case "QUIT":
                        return 0;
                    case "MEASURE":
                        Console.WriteLine(Mem.Measure(held.Count + rawHeld.Count, 0, 0));
                        break;
                    case "CONNECT":
                        int more = int.Parse(parts[1], CultureInfo.InvariantCulture);
                        var opened = new PeerNetwork[more];
                        await Parallel.ForAsync(0, more, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
                        {
                            // On a heavily loaded machine a channel can miss a server timeout (hello, acceptance):
                            // try again a few times, and say so on stderr rather than abort the whole run.
                            for (int attempt = 1; ; attempt++)
                            {
                                var network = NewClient();
                                try
                                {
                                    await network.StartAsync(ct);
                                    await network.ConnectAsync(target, ct);
                                    opened[i] = network;
                                    return;
                                }
                                catch (Exception ex) when (attempt < 4 && ex is P2PNetException or IOException or TimeoutException)
                                {
                                    Console.Error.WriteLine($"connect attempt {attempt} failed, retrying: {ex.GetType().Name}: {ex.Message}");
                                    await network.DisposeAsync();
                                }
                            }
                        });
                        held.AddRange(opened);
                        Console.WriteLine($"OK {held.Count}");
                        break;
                    case "CONNECTRAW":
                        // Dialing the address without /p2p/ makes every dial a new connection to the same PeerId.
                        int count = int.Parse(parts[1], CultureInfo.InvariantCulture);
                        var raws = new (Connection, MuxedStream)[count];
                        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
                        {
                            var connection = await rawHost.DialAsync(target.WithoutPeerId(), ct);
                            raws[i] = (connection, await connection.OpenStreamAsync(IdleProtocol, ct));
                        });
                        rawHeld.AddRange(raws);
                        Console.WriteLine($"OK {rawHeld.Count}");
                        break;
                    case "CYCLE":
                        int cycles = int.Parse(parts[1], CultureInfo.InvariantCulture);
                        await Parallel.ForAsync(0, cycles, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, ct) =>
                        {
                            await using var network = NewClient();
                            await network.StartAsync(ct);
                            var channel = await network.ConnectAsync(target, ct);
                            await channel.SendAsync(new PureMessagePacket("hello"), ct);
                        });
                        Console.WriteLine("OK");
                        break;
                    case "ATTACK":
                        var server = target.ToIPEndPoint() ?? throw new InvalidOperationException("no TCP address");
                        for (int i = 0; i < int.Parse(parts[1], CultureInfo.InvariantCulture); i++)
                        {
                            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                            socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
                            await socket.ConnectAsync(server);
                            attack.Add(socket);
                        }
                        Console.WriteLine("OK");
                        break;
                    case "RELEASE":
                        foreach (var socket in attack) socket.Dispose();
                        attack.Clear();
                        Console.WriteLine("OK");
                        break;
                    case "ADMIT":
                        // Dial until a channel opens (each refused or timed-out attempt counts), for at most 120 s.
                        var admit = Stopwatch.StartNew();
                        int attempts = 0;
                        string? failure = null;
                        while (true)
                        {
                            attempts++;
                            await using var network = NewClient();
                            await network.StartAsync();
                            try
                            {
                                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120) - admit.Elapsed);
                                await network.ConnectAsync(target, timeout.Token);
                                break;
                            }
                            catch (Exception ex) when (ex is OperationCanceledException or P2PNetException or IOException)
                            {
                                failure = $"{ex.GetType().Name}: {ex.Message}";
                                if (admit.Elapsed > TimeSpan.FromSeconds(120)) break;
                            }
                        }
                        Console.WriteLine(admit.Elapsed < TimeSpan.FromSeconds(120)
                            ? $"ADMIT {admit.Elapsed.TotalMilliseconds:0} ms ({attempts} attempt(s){(failure is null ? "" : $"; last refusal: {failure}")})"
                            : $"ADMIT not admitted within 120 s ({attempts} attempts; last: {failure})");
                        break;
                }
            }
            return 0;
        }
        finally
        {
            foreach (var socket in attack) socket.Dispose();
            foreach (var network in held) await network.DisposeAsync();
            foreach (var (connection, _) in rawHeld) await connection.DisposeAsync();
        }

        static PeerNetwork NewClient() => new(new PeerNetworkOptions { ListenAddresses = [] });
    }

    /// <summary>One process's memory after a forced GC, with the figures of the node it runs.</summary>
    private readonly record struct Mem(long Heap, long Rss, int Fds, int Channels, int Known, long Messages, int Stored)
    {
        public static string Measure(int channels, int known, long messages, int stored = 0)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            long heap = GC.GetTotalMemory(forceFullCollection: false);
            using var self = Process.GetCurrentProcess();
            int fds = Directory.GetFiles("/proc/self/fd").Length;
            return string.Create(CultureInfo.InvariantCulture, $"MEM {heap} {self.WorkingSet64} {fds} {channels} {known} {messages} {stored}");
        }

        public static Mem Parse(string line)
        {
            string[] p = line.Split(' ');
            return new Mem(long.Parse(p[1], CultureInfo.InvariantCulture), long.Parse(p[2], CultureInfo.InvariantCulture), int.Parse(p[3], CultureInfo.InvariantCulture),
                int.Parse(p[4], CultureInfo.InvariantCulture), int.Parse(p[5], CultureInfo.InvariantCulture), long.Parse(p[6], CultureInfo.InvariantCulture),
                int.Parse(p[7], CultureInfo.InvariantCulture));
        }

        public static string KiB(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB");

        public static string MiB(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.0} MiB");
    }

    /// <summary>This program re-launched with a child mode under <c>ulimit -n</c> raised to the hard limit; talks in lines.</summary>
    private sealed class Child : IAsyncDisposable
    {
        private readonly Process _process;

        private Child(Process process) => _process = process;

        /// <summary>The rest of the child's READY line (the server's address).</summary>
        public string Ready { get; private set; } = "";

        public static async Task<Child> StartAsync(params string[] args)
        {
            var info = new ProcessStartInfo("bash")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add("ulimit -n \"$(ulimit -Hn)\" && exec \"$@\"");
            info.ArgumentList.Add("bash");
            string self = Environment.ProcessPath!;
            info.ArgumentList.Add(self);
            if (Path.GetFileNameWithoutExtension(self) == "dotnet") info.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
            foreach (string a in args) info.ArgumentList.Add(a);
            var child = new Child(Process.Start(info)!);
            string ready = await child.ReadLineAsync("READY");
            child.Ready = ready.Length > 6 ? ready[6..] : "";
            return child;
        }

        public async Task<string> AskAsync(string command, string expect)
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            return await ReadLineAsync(expect);
        }

        private async Task<string> ReadLineAsync(string expect)
        {
            using var timeout = new CancellationTokenSource(StepTimeout);
            while (await _process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith(expect, StringComparison.Ordinal)) return line;
            }
            throw new InvalidOperationException($"child ended before '{expect}' (exit {(_process.HasExited ? _process.ExitCode : -1)})");
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _process.StandardInput.WriteLineAsync("QUIT");
                await _process.StandardInput.FlushAsync();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            }
            catch (Exception ex) when (ex is IOException or TimeoutException or InvalidOperationException)
            {
                _process.Kill(entireProcessTree: true);
            }
            _process.Dispose();
        }
    }
}
