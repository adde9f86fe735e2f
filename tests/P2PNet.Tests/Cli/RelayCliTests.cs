using P2PNet.Core;
using P2PNet.Tests.Support;
using static P2PNet.Tests.Cli.CliProcess;

namespace P2PNet.Tests.Cli;

/// <summary><c>p2pnet listen --relay-service</c>, <c>listen --relay</c> and <c>ping</c> of a circuit address.</summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class RelayCliTests
{
    [Fact]
    public async Task A_node_reserves_on_a_relay_prints_its_circuit_address_and_is_pinged_through_it()
    {
        using var dir = new TempDir();
        await using var relay = LineProcess.StartCli("listen", "--listen", "/ip4/127.0.0.1/tcp/0", "--key", dir.File("relay.key"), "--relay-service");
        var relayId = PeerId.Parse(await relay.NextLineAsync(Wait));
        var relayAddress = Multiaddr.Parse(await relay.ExpectAsync("/ip4/127.0.0.1/tcp/", Wait));
        Assert.Equal("* relay service on", await relay.NextLineAsync(Wait));
        Assert.Equal(relayId, relayAddress.PeerId);

        await using var target = LineProcess.StartCli("listen", "--listen", "/ip4/127.0.0.1/tcp/0", "--key", dir.File("target.key"), "--relay", relayAddress.ToString());
        var targetId = PeerId.Parse(await target.NextLineAsync(Wait));
        await target.ExpectAsync("/ip4/127.0.0.1/tcp/", Wait);
        string circuit = await target.NextLineAsync(Wait);
        Assert.Equal($"{relayAddress}/p2p-circuit/p2p/{targetId}", circuit);

        await using var ping = LineProcess.StartCli("ping", circuit, "-c", "2", "-i", "0");
        Assert.Equal(0, await ping.WaitForExitAsync(Wait));
        var lines = Lines(ping.Transcript);
        Assert.Equal($"connected to {targetId} at {relayAddress}/p2p-circuit", lines[0]);
        // A circuit target's lines say which path carried them; on loopback (not public) hole punching finds no address.
        Assert.Matches($@"^pong from {targetId}: seq=1 time=[\d.]+ ms \((relayed|direct)\)$", lines[1]);
        Assert.Contains(lines, l => l.StartsWith($"pong from {targetId}: seq=2 time=", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("* hole punch failed: ", StringComparison.Ordinal) || l.StartsWith("* direct connection to ", StringComparison.Ordinal));
    }
}
