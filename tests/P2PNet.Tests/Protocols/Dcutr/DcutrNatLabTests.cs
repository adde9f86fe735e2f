using P2PNet.Tests.Protocols.AutoNat;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Protocols.Dcutr;

/// <summary>
/// DCUtR across real NATs (<see cref="NatLab"/>): a relay on the lab's internet (<c>listen --relay-service</c>), node B
/// behind a router reserving on it (<c>listen --relay</c>), node A behind another router pinging B's circuit
/// address (<c>ping</c>). Behind two plain masquerades the hole punch succeeds and the pings move from the relay to
/// the direct connection; behind two symmetric NATs it fails and the pings stay on the relay. Real p2pnet
/// processes, <c>--public-cidr 198.18.0.0/15</c> everywhere. Needs root and nftables (CI has both).
/// </summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class DcutrNatLabTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly string[] Lab = ["--public-cidr", "198.18.0.0/15"];

    [NatLabFact]
    public async Task Two_nodes_behind_plain_masquerade_hole_punch_from_the_relay_to_a_direct_connection()
    {
        var lines = await PingThroughRelayAsync(NatKind.Masquerade);
        int direct = lines.FindIndex(l => l.StartsWith("* direct connection to ", StringComparison.Ordinal));
        Assert.True(direct >= 0, string.Join('\n', lines));
        Assert.DoesNotContain(lines, l => l.StartsWith("* hole punch failed", StringComparison.Ordinal));
        Assert.Matches(@"^\* direct connection to 12D3KooW\w+ at /ip4/198\.18\.0\.\d+/tcp/\d+$", lines[direct]);
        var pongs = lines.Where(l => l.StartsWith("pong from ", StringComparison.Ordinal)).ToList();
        // The first pong is usually relayed, but a fast hole punch may finish before it: only the order is fixed.
        Assert.EndsWith(" ms (direct)", pongs[^1], StringComparison.Ordinal);
        // Relayed lines only before the upgrade, direct ones only after it.
        Assert.All(lines.Take(direct).Where(l => l.StartsWith("pong", StringComparison.Ordinal)), l => Assert.EndsWith("(relayed)", l, StringComparison.Ordinal));
        Assert.All(lines.Skip(direct + 1).Where(l => l.StartsWith("pong", StringComparison.Ordinal)), l => Assert.EndsWith("(direct)", l, StringComparison.Ordinal));
    }

    [NatLabFact]
    public async Task Two_nodes_behind_symmetric_NATs_stay_relayed_and_keep_pinging()
    {
        var lines = await PingThroughRelayAsync(NatKind.Symmetric);
        Assert.Contains(lines, l => l.StartsWith("* hole punch failed: ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("* direct connection", StringComparison.Ordinal));
        var pongs = lines.Where(l => l.StartsWith("pong from ", StringComparison.Ordinal)).ToList();
        Assert.Equal(10, pongs.Count);
        Assert.All(pongs, l => Assert.EndsWith(" ms (relayed)", l, StringComparison.Ordinal));
    }

    private static async Task<List<string>> PingThroughRelayAsync(NatKind kind)
    {
        await using var lab = await NatLab.CreateAsync();
        var processes = new List<LineProcess>();
        try
        {
            string relayNs = await lab.OnInternetAsync("relay", 250);
            string aNs = await lab.NodeAsync("a", kind);
            string bNs = await lab.NodeAsync("b", kind);
            var relay = LineProcess.StartCliIn(relayNs, ["listen", "--listen", "/ip4/198.18.0.250/tcp/4001", "--relay-service", "--key", lab.KeyFile("relay"), .. Lab]);
            processes.Add(relay);
            string relayAddress = await relay.ExpectAsync("/ip4/198.18.0.250/tcp/4001/p2p/", Timeout);
            var b = LineProcess.StartCliIn(bNs, ["listen", "--listen", $"/ip4/0.0.0.0/tcp/{NatLab.ListenPort}", "--relay", relayAddress, "--key", lab.KeyFile("b"), .. Lab]);
            processes.Add(b);
            string circuit = await b.ExpectAsync(relayAddress + "/p2p-circuit/p2p/", Timeout);
            var a = LineProcess.StartCliIn(aNs, ["ping", "-c", "10", "-i", "0.5", circuit, .. Lab]);
            processes.Add(a);
            int code = await a.WaitForExitAsync(Timeout);
            Assert.True(code == 0, $"ping exited {code}\n{a.Transcript}\n{a.StandardError}");
            return [.. a.Transcript.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        }
        finally
        {
            foreach (var p in processes) await p.DisposeAsync();
        }
    }
}
