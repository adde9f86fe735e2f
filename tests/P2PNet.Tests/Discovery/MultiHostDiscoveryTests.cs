using System.Diagnostics;
using System.Globalization;
using P2PNet.Core;
using P2PNet.Tests.Support;
using Xunit.Abstractions;

namespace P2PNet.Tests.Discovery;

/// <summary>
/// Several hosts on one LAN: three network namespaces joined by veth pairs to a bridge (<see cref="NamespaceLan"/>),
/// one <c>p2pnet chat</c> process in each (<c>ip netns exec</c>). Each node must find both others by one
/// discovery mechanism alone (peer exchange off) and connect to them. Multicast and broadcast stay inside the
/// namespaces the test creates; it runs in the normal test run and needs root (CI is root).
/// </summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class MultiHostDiscoveryTests(ITestOutputHelper output)
{
    private const int NodeCount = 3;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [RootFact]
    public Task Three_hosts_find_and_connect_to_each_other_by_mdns_alone() =>
        MeshAsync("mdns", ["--mdns"]);

    [RootFact]
    public Task Three_hosts_find_and_connect_to_each_other_by_subnet_broadcast_alone() =>
        MeshAsync("broadcast", ["--broadcast", "--no-broadcast-multicast"]);

    /// <summary>No IPv4 on the LAN at all: mDNS over IPv6 (ff02::fb) alone, announcing the ULA addresses.</summary>
    [RootFact]
    public Task Three_hosts_with_only_IPv6_find_and_connect_to_each_other_by_mdns_alone() =>
        MeshAsync("mdns", ["--mdns"], ipv6: true);

    private async Task MeshAsync(string source, string[] discovery, bool ipv6 = false)
    {
        await using var lan = await NamespaceLan.CreateAsync(NodeCount, ipv6Only: ipv6);
        string ip = ipv6 ? "ip6" : "ip4";
        var clock = Stopwatch.StartNew();
        var nodes = new List<Node>();
        try
        {
            foreach (var (ns, _) in lan.Nodes)
            {
                nodes.Add(new Node(LineProcess.StartCliIn(ns,
                [
                    "chat", .. discovery, "--discovery-interface", NamespaceLan.Interface, "--listen", ipv6 ? "/ip6/::/tcp/4001" : "/ip4/0.0.0.0/tcp/4001",
                    "--no-peer-exchange", "--discovery-interval", "1000",
                ]), clock));
            }

            // Each node says who it is and where discovery runs: on lan0 only, with the namespace's address.
            var ids = new PeerId[NodeCount];
            var up = TimeSpan.Zero;
            for (int i = 0; i < NodeCount; i++)
            {
                var (at, line) = await nodes[i].WaitForAsync(l => l.StartsWith("peer id ", StringComparison.Ordinal), Timeout);
                ids[i] = PeerId.Parse(line["peer id ".Length..]);
                var (_, where) = await nodes[i].WaitForAsync(l => l.StartsWith("* discovery ", StringComparison.Ordinal), Timeout);
                Assert.StartsWith($"* discovery {source} on {NamespaceLan.Interface} {lan.Nodes[i].Address} (", where);
                if (at > up) up = at;
            }

            // Every node discovers each other node by this mechanism, at its namespace address, and connects to it.
            var firstDiscovery = TimeSpan.MaxValue;
            var mesh = TimeSpan.Zero;
            for (int i = 0; i < NodeCount; i++)
            {
                for (int j = 0; j < NodeCount; j++)
                {
                    if (i == j) continue;
                    string discovered = $"* discovered {ids[j]} via {source} at ";
                    var (foundAt, found) = await nodes[i].WaitForAsync(l => l.StartsWith(discovered, StringComparison.Ordinal), Timeout);
                    string[] addresses = found[discovered.Length..].Split(' ');
                    Assert.Contains($"/{ip}/{lan.Nodes[j].Address}/tcp/4001", addresses);
                    // Loopback addresses mean nothing to another host (dialing them reaches ourselves): not announced on lan0;
                    // nor link-local ones, which a multiaddr cannot give a zone.
                    Assert.DoesNotContain(addresses, a => a.StartsWith("/ip4/127.", StringComparison.Ordinal) || a.StartsWith("/ip6/::1/", StringComparison.Ordinal)
                                                          || a.StartsWith("/ip6/fe80:", StringComparison.Ordinal));
                    var (connectedAt, _) = await nodes[i].WaitForAsync(l => l == $"* connected {ids[j]}", Timeout);
                    if (foundAt < firstDiscovery) firstDiscovery = foundAt;
                    if (connectedAt > mesh) mesh = connectedAt;
                }
            }
            foreach (var node in nodes)
            {
                Assert.DoesNotContain(node.Lines, l => l.StartsWith("* discovered", StringComparison.Ordinal) && !l.Contains($" via {source} at ", StringComparison.Ordinal));
                Assert.DoesNotContain(node.Lines, l => l.StartsWith("* disconnected", StringComparison.Ordinal));
            }
            Support.Measure.Report(output, $"multihost {source}{(ipv6 ? " (IPv6 only)" : "")}: {NodeCount} nodes up (peer id printed) after {Seconds(up)} s, " +
                    $"first discovery at {Seconds(firstDiscovery)} s, full mesh ({NodeCount * (NodeCount - 1)} connected lines) at {Seconds(mesh)} s " +
                    $"(from process start; discovery interval 1 s)");

            // Sends do not fail (an IPv6 send before the link-local address is usable is expected and only debug).
            foreach (var node in nodes) Assert.DoesNotContain("could not send", node.Process.StandardError, StringComparison.Ordinal);
            foreach (var node in nodes) await node.Process.SendAsync("/quit");
            foreach (var node in nodes) Assert.Equal(0, await node.Process.WaitForExitAsync(Timeout));
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>A CLI process whose stdout lines are read as they come and kept with the time they arrived.</summary>
    private sealed class Node : IAsyncDisposable
    {
        private readonly Stopwatch _clock;
        private readonly List<(TimeSpan At, string Line)> _lines = [];
        private readonly Task _reader;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _ended;

        public Node(LineProcess process, Stopwatch clock)
        {
            Process = process;
            _clock = clock;
            _reader = Task.Run(ReadAsync);
        }

        public LineProcess Process { get; }

        public IReadOnlyList<string> Lines
        {
            get { lock (_lines) return [.. _lines.Select(l => l.Line)]; }
        }

        private async Task ReadAsync()
        {
            try
            {
                while (true)
                {
                    string line = await Process.NextLineAsync(TimeSpan.FromMinutes(5));
                    lock (_lines)
                    {
                        _lines.Add((_clock.Elapsed, line));
                        _changed.TrySetResult();
                        _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
                    }
                }
            }
            catch (TimeoutException)
            {
                // the process ended (or went silent)
            }
            lock (_lines)
            {
                _ended = true;
                _changed.TrySetResult();
            }
        }

        /// <summary>The first line (already read or still to come) that matches, with the time it arrived.</summary>
        public async Task<(TimeSpan At, string Line)> WaitForAsync(Func<string, bool> match, TimeSpan timeout)
        {
            var deadline = _clock.Elapsed + timeout;
            while (true)
            {
                Task changed;
                lock (_lines)
                {
                    foreach (var entry in _lines)
                        if (match(entry.Line)) return entry;
                    if (_ended) throw new InvalidOperationException($"the process ended first.\nstdout:\n{Process.Transcript}\nstderr:\n{Process.StandardError}");
                    changed = _changed.Task;
                }
                var left = deadline - _clock.Elapsed;
                try
                {
                    if (left <= TimeSpan.Zero) throw new TimeoutException();
                    await changed.WaitAsync(left);
                }
                catch (TimeoutException)
                {
                    throw new TimeoutException($"no matching line within {timeout.TotalSeconds} s.\nstdout:\n{Process.Transcript}\nstderr:\n{Process.StandardError}");
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Process.DisposeAsync();
            await _reader.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }
}
