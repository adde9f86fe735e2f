using P2PNet.Tests.Protocols.Dcutr;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Protocols.AutoNat;

/// <summary>
/// AutoNAT v2 across a real NAT, in the shared <see cref="NatLab"/> (namespaces <c>p2pan-*</c>): on its "internet"
/// bridge (198.18.0.0/24) an AutoNAT server and a node with a public address; behind a router doing plain masquerade
/// (unsolicited inbound connections silently dropped, like a home router) a third node. Each node is a
/// <c>p2pnet chat</c> process (<c>ip netns exec</c>) with <c>--public-cidr 198.18.0.0/15</c>: the public one must print
/// <c>* reachability public (autonat)</c>, the one behind the NAT <c>* reachability private (autonat)</c>. Nothing is
/// added to the host's namespace; the lab removes its namespaces on dispose, and leftovers of dead runs first.
/// Needs root and nftables (CI has both).
/// </summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class AutoNatNatLabTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(45);

    [NatLabFact]
    public async Task A_node_on_the_internet_is_public_and_one_behind_masquerade_is_private()
    {
        await using var lab = await NatLab.CreateAsync("p2pan-");
        var processes = new List<LineProcess>();
        try
        {
            string server = await lab.OnInternetAsync("srv", 250);
            string open = await lab.OnInternetAsync("pub", 251);
            string natted = await lab.NodeAsync("nat", NatKind.Masquerade);

            string[] options = ["--public-cidr", "198.18.0.0/15"];
            var srv = LineProcess.StartCliIn(server, ["chat", "--listen", "/ip4/198.18.0.250/tcp/4001", .. options]);
            processes.Add(srv);
            string serverAddress = (await srv.ExpectAsync("listening on /ip4/198.18.0.250/tcp/4001/p2p/", Timeout))["listening on ".Length..];
            var pub = LineProcess.StartCliIn(open, ["chat", "--listen", "/ip4/198.18.0.251/tcp/4001", "--peer", serverAddress, .. options]);
            processes.Add(pub);
            var nat = LineProcess.StartCliIn(natted, ["chat", "--listen", $"/ip4/0.0.0.0/tcp/{NatLab.ListenPort}", "--peer", serverAddress, .. options]);
            processes.Add(nat);

            Assert.Equal("* reachability public (autonat)", await pub.ExpectAsync("* reachability", Timeout));
            Assert.Equal("* reachability private (autonat)", await nat.ExpectAsync("* reachability", Timeout));
        }
        finally
        {
            foreach (var p in processes) await p.DisposeAsync();
        }
    }
}

/// <summary>A fact that needs root (network namespaces) and nftables; skipped, saying why, otherwise.</summary>
internal sealed class NatLabFactAttribute : FactAttribute
{
    public NatLabFactAttribute()
    {
        if (Discovery.NamespaceLan.Unavailable() is { } why) Skip = why;
        else if (!File.Exists("/usr/sbin/nft") && !File.Exists("/sbin/nft") && !File.Exists("/usr/bin/nft")) Skip = "the NAT lab needs nftables (nft); .ci/run installs it";
    }
}
