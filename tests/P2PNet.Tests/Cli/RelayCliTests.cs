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

/// <summary><c>p2pnet chat --relay</c>: a chat reachable only through a relay, and a relay limit that reopens the channel.</summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class RelayChatCliTests
{
    [Fact]
    public async Task A_chat_behind_a_relay_prints_its_circuit_address_and_survives_the_relay_limit()
    {
        using var dir = new TempDir();
        await using var relay = LineProcess.StartCli("listen", "--listen", "/ip4/127.0.0.1/tcp/0", "--key", dir.File("relay.key"), "--relay-service",
            "--relay-max-bytes", "16384", "--relay-max-duration", "0");
        await relay.NextLineAsync(Wait);
        var relayAddress = Multiaddr.Parse(await relay.ExpectAsync("/ip4/127.0.0.1/tcp/", Wait));
        await relay.ExpectAsync("* relay service on", Wait);

        // a dials b through the circuit; after the limit it reopens on a new circuit or, as here, b's own address.
        await using var b = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--relay", relayAddress.ToString());
        var bId = PeerId.Parse((await b.ExpectAsync("peer id ", Wait))["peer id ".Length..]);
        await b.ExpectAsync("listening on /ip4/127.0.0.1/tcp/", Wait);
        string circuit = (await b.ExpectAsync("listening on ", Wait))["listening on ".Length..];
        Assert.Equal($"{relayAddress}/p2p-circuit/p2p/{bId}", circuit);

        await using var a = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--peer", circuit);
        var aId = PeerId.Parse((await a.ExpectAsync("peer id ", Wait))["peer id ".Length..]);
        await a.ExpectAsync($"* channel open with {bId}", Wait);
        // 8 lines of 4 KiB: more than the circuit's 16 KiB, so the relay cuts it and the channel reopens, losing nothing.
        string text = new('x', 4096);
        for (int i = 0; i < 8; i++) await a.SendAsync($"{i} {text}");
        Assert.Equal($"* relay limit reached for {bId}, reopening", await a.ExpectAsync("* relay limit reached", Wait));
        for (int i = 0; i < 8; i++) Assert.Equal($"{aId}: {i} {text}", await b.ExpectAsync($"{aId}: ", Wait));
        await a.SendAsync("/quit");
        Assert.Equal(0, await a.WaitForExitAsync(Wait));
    }
}
