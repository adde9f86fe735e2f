using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Discovery.LanBroadcast;
using P2PNet.Discovery.Mdns;
using P2PNet.Peers;

namespace P2PNet.Bench;

/// <summary>
/// <c>discovery</c>: how long a node takes to find a peer on the same link (mDNS and LAN broadcast), against the
/// floor of one raw multicast datagram on the same link; and how long ten nodes joined as a chain take to
/// become a full mesh through peer exchange, against the 45 channels dialed directly at once. It multicasts,
/// so it runs only in a private network namespace with only <c>lo</c>: started elsewhere, it re-runs itself
/// under <c>unshare --net</c> (root) and refuses to run if any non-loopback interface is visible.
/// Options: --rounds R (discovery rounds, median reported; default 20).
/// </summary>
internal static class DiscoveryBench
{
    private const string InsideVariable = "P2PNET_BENCH_NETNS";

    public static async Task<int> RunAsync(string[] args)
    {
        if (Environment.GetEnvironmentVariable(InsideVariable) != "1") return await ReRunInNamespaceAsync(args);
        if (NetworkInterface.GetAllNetworkInterfaces().Any(n => n.NetworkInterfaceType != NetworkInterfaceType.Loopback))
        {
            Console.Error.WriteLine("refusing to multicast: a non-loopback interface is visible");
            return 2;
        }
        int rounds = 20;
        for (int i = 0; i < args.Length - 1; i++)
            if (args[i] == "--rounds") rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture);

        Console.WriteLine($"P2PNet discovery benchmark: private namespace, lo only, {Environment.ProcessorCount} cores, .NET {Environment.Version}, median of {rounds} rounds");
        Console.WriteLine();
        double floor = Median(await RepeatAsync(rounds, RawMulticastAsync));
        Console.WriteLine($"{"raw multicast datagram on lo (baseline)",-58}{floor,10:F2} ms");
        var rows = new (string Name, Func<int, Task<double>> Measure)[]
        {
            ("mDNS: running node hears a new one (its announcement)", r => MdnsAsync(r, heardByRunning: true)),
            ("mDNS: new node hears a running one (answer to its query)", r => MdnsAsync(r, heardByRunning: false)),
            ("broadcast: running node hears a new one (announcement)", BroadcastAsync),
        };
        foreach (var (name, measure) in rows)
        {
            double median = Median(await RepeatAsync(rounds, measure));
            Console.WriteLine($"{name,-58}{median,10:F2} ms{median / floor,10:F1}x baseline");
        }

        Console.WriteLine("(an answer to a query waits a random 20-120 ms, RFC 6762 section 6; announcements do not)");
        Console.WriteLine();
        double direct = await TenNodesAsync(exchange: false);
        double exchanged = await TenNodesAsync(exchange: true);
        Console.WriteLine($"{"ten nodes, 45 channels dialed at once (baseline)",-58}{direct,10:F0} ms");
        Console.WriteLine($"{"ten nodes in a chain, full mesh through peer exchange",-58}{exchanged,10:F0} ms{exchanged / direct,10:F1}x baseline");
        Console.WriteLine("(peer exchange every 300 ms, auto-connect every 100 ms, yield 300 ms)");
        return 0;
    }

    private static async Task<int> ReRunInNamespaceAsync(string[] args)
    {
        string self = Environment.ProcessPath!;
        string dll = typeof(DiscoveryBench).Assembly.Location;
        string command = Path.GetFileNameWithoutExtension(self) == "dotnet" ? $"'{self}' '{dll}'" : $"'{self}'";
        var info = new ProcessStartInfo("unshare") { UseShellExecute = false };
        foreach (string a in new[] { "--net", "--", "sh", "-c",
            "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec " + command + " discovery " + string.Join(' ', args.Select(a => $"'{a}'")) })
            info.ArgumentList.Add(a);
        info.Environment[InsideVariable] = "1";
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start unshare");
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) Console.Error.WriteLine("the discovery benchmark needs root, unshare and ip (iproute2) for its private network namespace");
        return process.ExitCode;
    }

    private static async Task<List<double>> RepeatAsync(int rounds, Func<int, Task<double>> measure)
    {
        var results = new List<double>();
        await measure(0); // warm-up
        for (int r = 1; r <= rounds; r++) results.Add(await measure(r));
        return results;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }

    private static async Task<double> RawMulticastAsync(int round)
    {
        var group = IPAddress.Parse("239.255.77.1");
        int port = 47000 + round;
        using var receiver = new UdpClient(AddressFamily.InterNetwork);
        receiver.Client.Bind(new IPEndPoint(IPAddress.Any, port));
        receiver.JoinMulticastGroup(group, IPAddress.Loopback);
        using var sender = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var watch = Stopwatch.StartNew();
        var receive = receiver.ReceiveAsync();
        await sender.SendAsync(new byte[100], new IPEndPoint(group, port));
        await receive.WaitAsync(TimeSpan.FromSeconds(5));
        return watch.Elapsed.TotalMilliseconds;
    }

    private static async Task<double> MdnsAsync(int round, bool heardByRunning)
    {
        using var a = Identity.Generate();
        using var b = Identity.Generate();
        var options = new MdnsOptions { Port = 16000 + round * 2 + (heardByRunning ? 1 : 0), Interface = "lo", QueryInterval = TimeSpan.FromHours(1) };
        await using var running = new MdnsDiscovery(options);
        await using var joining = new MdnsDiscovery(options);
        await AwaitAnnouncementAsync(options.Port, options.MulticastGroup, () => running.StartAsync(a.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/1")]));
        var heard = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (heardByRunning) running.PeerDiscovered += (_, p) => { if (p.PeerId == b.PeerId) heard.TrySetResult(); };
        else joining.PeerDiscovered += (_, p) => { if (p.PeerId == a.PeerId) heard.TrySetResult(); };
        var watch = Stopwatch.StartNew();
        await joining.StartAsync(b.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/2")]);
        await heard.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return watch.Elapsed.TotalMilliseconds;
    }

    /// <summary>Runs <paramref name="start"/> and returns once its start announcement (a response) was multicast.</summary>
    internal static async Task AwaitAnnouncementAsync(int port, IPAddress group, Func<Task> start)
    {
        using var listener = new UdpClient(AddressFamily.InterNetwork);
        listener.Client.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Client.Bind(new IPEndPoint(IPAddress.Any, port));
        listener.JoinMulticastGroup(group, IPAddress.Loopback);
        await start();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (true)
        {
            var datagram = await listener.ReceiveAsync(timeout.Token);
            if (datagram.Buffer.Length > 2 && (datagram.Buffer[2] & 0x80) != 0) return; // QR: a response
        }
    }

    private static async Task<double> BroadcastAsync(int round)
    {
        using var a = Identity.Generate();
        using var b = Identity.Generate();
        var options = new LanBroadcastOptions { Port = 17000 + round, Interface = "lo", AnnounceInterval = TimeSpan.FromHours(1) };
        await using var running = new LanBroadcastDiscovery(options);
        await using var joining = new LanBroadcastDiscovery(options);
        await running.StartAsync(a.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/1")]);
        var heard = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        running.PeerDiscovered += (_, p) => { if (p.PeerId == b.PeerId) heard.TrySetResult(); };
        var watch = Stopwatch.StartNew();
        await joining.StartAsync(b.PeerId, () => [Multiaddr.Parse("/ip4/127.0.0.1/tcp/2")]);
        await heard.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return watch.Elapsed.TotalMilliseconds;
    }

    private static async Task<double> TenNodesAsync(bool exchange)
    {
        var options = new PeerDiscoveryOptions
        {
            PeerExchangeInterval = TimeSpan.FromMilliseconds(300),
            YieldDelay = TimeSpan.FromMilliseconds(300),
            AutoConnectInterval = TimeSpan.FromMilliseconds(100),
            DialBackoffBase = TimeSpan.FromMilliseconds(200),
            DialTimeout = TimeSpan.FromSeconds(3),
            PeerExchange = exchange,
            TargetPeerCount = exchange ? 9 : 0,
        };
        var nodes = new List<PeerNetwork>();
        try
        {
            for (int i = 0; i < 10; i++)
            {
                var node = new PeerNetwork(new PeerNetworkOptions { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")] });
                await node.StartAsync();
                node.TrustPolicy.AllowEnhancedPacketExchange = true;
                node.StartPeerDiscovery(options);
                nodes.Add(node);
            }
            var watch = Stopwatch.StartNew();
            if (exchange)
            {
                for (int i = 1; i < 10; i++) await nodes[i].ConnectAsync(nodes[i - 1].ListenAddresses[0].WithPeerId(nodes[i - 1].Identifier));
            }
            else
            {
                // The floor: the 45 channels dialed directly, all at once, nothing to discover.
                await Task.WhenAll(Enumerable.Range(0, 10).SelectMany(i => Enumerable.Range(i + 1, 9 - i).Select(j =>
                    nodes[i].ConnectAsync(nodes[j].ListenAddresses[0].WithPeerId(nodes[j].Identifier)))));
            }
            while (!nodes.All(n => n.ActivePeerChannels.Count(c => c.State == PeerChannelState.Open) == 9))
            {
                if (watch.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("no full mesh after 60 s");
                await Task.Delay(5);
            }
            return watch.Elapsed.TotalMilliseconds;
        }
        finally
        {
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
        }
    }
}
