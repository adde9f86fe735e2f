using System.Diagnostics;
using P2PNet.Protocols.Identify;
using P2PNet.Swarm;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Protocols.Identify;

/// <summary>Identify push rounds: at most one per <see cref="IdentifyOptions.MinPushInterval"/>, our identify built once per round.</summary>
public sealed class IdentifyPushRateTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Back_to_back_changes_push_rounds_at_least_the_min_interval_apart_each_building_our_identify_once()
    {
        var minInterval = TimeSpan.FromSeconds(1);
        await using var hosts = new MemoryHosts();
        var (a, addrA) = await hosts.StartAsync();
        await using var identifyA = new IdentifyService(a, new IdentifyOptions { PushDebounce = TimeSpan.FromMilliseconds(10), MinPushInterval = minInterval });
        var peers = new List<(SwarmHost Host, IdentifyService Identify)>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                var (host, _) = await hosts.StartAsync();
                peers.Add((host, new IdentifyService(host)));
                await host.DialAsync(addrA).WaitAsync(Timeout);
            }
            await Poll.UntilAsync(() => peers.All(p => p.Identify.Get(a.LocalPeerId) is not null && identifyA.Get(p.Host.LocalPeerId) is not null),
                Timeout, "every peer identified");

            bool AllSee(string protocol) => peers.All(p => p.Identify.Get(a.LocalPeerId)?.Protocols.Contains(protocol) == true);
            var watch = Stopwatch.StartNew();
            a.SetStreamHandler("/test/first/1.0.0", (_, _, _) => Task.CompletedTask);
            await Poll.UntilAsync(() => AllSee("/test/first/1.0.0"), Timeout, "the first push");
            int built = identifyA.SnapshotsBuilt;

            a.SetStreamHandler("/test/second/1.0.0", (_, _, _) => Task.CompletedTask);
            await Poll.UntilAsync(() => AllSee("/test/second/1.0.0"), Timeout, "the second push");
            // The first round started after `watch` did; the second no sooner than MinPushInterval after it.
            Assert.True(watch.Elapsed >= minInterval - TimeSpan.FromMilliseconds(20), $"second round after {watch.Elapsed.TotalMilliseconds:0} ms");
            Assert.Equal(built + 1, identifyA.SnapshotsBuilt); // one build for three targets
        }
        finally
        {
            foreach (var (_, identify) in peers) await identify.DisposeAsync();
        }
    }
}
