using System.Diagnostics;
using P2PNet.Discovery;
using P2PNet.Peers;
using P2PNet.Tests.Peers;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Discovery;

/// <summary>Nodes that know nothing of each other but one discovery mechanism, until they form a full mesh.</summary>
internal static class DiscoveryMesh
{
    /// <summary>
    /// Starts <paramref name="count"/> networks, each with its own mechanism from <paramref name="create"/> (peer
    /// exchange off, so the mechanism alone must find everyone), awaits a full mesh, and returns the time of the
    /// first discovery and of the full mesh, from the start of the first node.
    /// </summary>
    public static async Task<(long FirstDiscoveryMs, long FullMeshMs)> FormAsync(int count, Func<IPeerDiscovery> create, string source)
    {
        var nodes = new List<PeerNetwork>();
        try
        {
            var watch = Stopwatch.StartNew();
            var firstDiscovery = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            for (int i = 0; i < count; i++)
            {
                var node = await PeerTestNetwork.StartAsync();
                node.PeerDiscovered += (_, e) => { if (e.Source == source) firstDiscovery.TrySetResult(watch.ElapsedMilliseconds); };
                node.StartPeerDiscovery(new PeerDiscoveryOptions
                {
                    PeerExchange = false,
                    TargetPeerCount = count - 1,
                    AutoConnectInterval = TimeSpan.FromMilliseconds(100),
                    YieldDelay = TimeSpan.FromMilliseconds(300),
                });
                await node.AddDiscoveryAsync(create());
                nodes.Add(node);
            }
            long first = await firstDiscovery.Task.WaitAsync(PeerTestNetwork.Wait);
            await Poll.UntilAsync(() => nodes.All(n => n.ActivePeerChannels.Count(c => c.State == PeerChannelState.Open) == count - 1),
                PeerTestNetwork.Wait, $"a full mesh of {count} nodes");
            return (first, watch.ElapsedMilliseconds);
        }
        finally
        {
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask())).WaitAsync(PeerTestNetwork.Wait);
        }
    }
}
