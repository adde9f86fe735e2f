using System.Diagnostics;
using P2PNet.Core;
using P2PNet.Tests.Discovery;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Cli;

/// <summary><c>p2pnet chat</c> as real processes talking over loopback.</summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class ChatCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Two_chats_exchange_lines_both_ways_list_each_other_and_quit()
    {
        await using var a = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0");
        var (aId, aAddr) = await ReadBannerAsync(a);
        await using var b = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--peer", aAddr.ToString());
        var (bId, _) = await ReadBannerAsync(b);

        Assert.Equal($"* connected {aId}", await b.ExpectAsync("* connected", Timeout));
        Assert.Equal($"* channel open with {aId}", await b.ExpectAsync("* channel open", Timeout));
        await b.ExpectAsync("type a message", Timeout);
        await a.ExpectAsync("type a message", Timeout);
        Assert.Equal($"* connected {bId}", await a.ExpectAsync("* connected", Timeout));

        // Each line typed into one chat is printed by the other as "<sender PeerId>: <text>".
        await b.SendAsync("hello from b: one, two");
        Assert.Equal($"{bId}: hello from b: one, two", await a.ExpectAsync($"{bId}:", Timeout));
        await a.SendAsync("and hello from a");
        Assert.Equal($"{aId}: and hello from a", await b.ExpectAsync($"{aId}:", Timeout));
        await b.SendAsync("second line");
        Assert.Equal($"{bId}: second line", await a.ExpectAsync($"{bId}:", Timeout));

        await a.SendAsync("/peers");
        Assert.Equal("* 1 connected, 1 known", await a.ExpectAsync("* 1 connected", Timeout));
        Assert.StartsWith($"*   {bId} Inbound Open 127.0.0.1:", await a.ExpectAsync("*   ", Timeout));
        await b.SendAsync("/peers");
        Assert.Equal("* 1 connected, 1 known", await b.ExpectAsync("* 1 connected", Timeout));
        Assert.Equal($"*   {aId} Outbound Open {aAddr.ToIPEndPoint()}", await b.ExpectAsync("*   ", Timeout));

        // /quit closes gracefully: the other side is told why (a DisconnectPacket), and does not redial.
        await b.SendAsync("/quit");
        Assert.Equal(0, await b.WaitForExitAsync(Timeout));
        Assert.Equal($"* disconnected {bId} (peer disconnected: network stopping)", await a.ExpectAsync("* disconnected", Timeout));
        await a.SendAsync("/quit");
        Assert.Equal(0, await a.WaitForExitAsync(Timeout));
        Assert.DoesNotContain("error", a.StandardError + b.StandardError, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_malformed_peer_address_is_a_usage_error_with_a_clear_message()
    {
        await using var chat = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--peer", "/ip4/127.0.0.1/tcp/99999");
        Assert.Equal(2, await chat.WaitForExitAsync(Timeout));
        Assert.Contains("error: --peer '/ip4/127.0.0.1/tcp/99999' is not a TCP multiaddr like /ip4/127.0.0.1/tcp/4001/p2p/<PeerId>", chat.StandardError);
        Assert.DoesNotContain("listening on", chat.Transcript);
    }

    // These pass --mdns/--broadcast to the CLI: meant to fail before any socket opens, but a regression in the checks
    // would announce on every interface (the --broadcast-port case pins none), so they run in the private namespace.
    [NamespaceFact]
    [Trait("Category", NetNs.Category)]
    public async Task Discovery_option_mistakes_are_one_clear_line_before_anything_starts()
    {
        NetNs.AssertIsolated();
        (string[] Args, int Code, string Error)[] cases =
        [
            (["chat", "--mdns", "--discovery-interface", "no-such-nic"], 1, "error: discovery: no up interface matches 'no-such-nic'"),
            (["listen", "--broadcast", "--discovery-interface", "203.0.113.77", "--key", "unused.key"], 1, "error: discovery: no up interface matches '203.0.113.77'"),
            // LAN broadcast is IPv4 only; Linux's lo carries no IPv6 multicast, so ::1 offers mDNS nothing either.
            (["chat", "--broadcast", "--discovery-interface", "::1"], 1, "error: discovery: interface '::1' has no IPv4 address (--broadcast is IPv4 only)"),
            (["chat", "--mdns", "--discovery-interface", "::1"], 1, "error: discovery: interface '::1' has no address mDNS can use"),
            (["chat", "--discovery-interface", "lo"], 2, "error: --discovery-interface needs --mdns or --broadcast; see 'p2pnet chat --help'"),
            (["chat", "--mdns", "--network-name", "x"], 2, "error: --network-name, --broadcast-port and --no-broadcast-multicast need --broadcast; see 'p2pnet chat --help'"),
            (["chat", "--no-broadcast-multicast"], 2, "error: --network-name, --broadcast-port and --no-broadcast-multicast need --broadcast; see 'p2pnet chat --help'"),
            (["chat", "--no-peer-exchange"], 2, "error: --no-peer-exchange needs --mdns, --broadcast or --target-peers; see 'p2pnet chat --help'"),
        ];
        foreach (var (args, code, error) in cases)
        {
            await using var cli = LineProcess.StartCli([.. args, "--listen", "/ip4/127.0.0.1/tcp/0"]);
            Assert.Equal(code, await cli.WaitForExitAsync(Timeout));
            Assert.Equal(error, cli.StandardError.Trim());
            Assert.Equal("", cli.Transcript);
        }
        await using (var range = LineProcess.StartCli("chat", "--broadcast", "--broadcast-port", "70000"))
        {
            Assert.NotEqual(0, await range.WaitForExitAsync(Timeout));
            Assert.Contains("--broadcast-port must be 1-65535", range.Transcript + range.StandardError);
        }
    }

    [Fact]
    public async Task Help_lists_the_discovery_options()
    {
        await using var help = LineProcess.StartCli("chat", "--help");
        Assert.Equal(0, await help.WaitForExitAsync(Timeout));
        foreach (string option in new[] { "--mdns", "--broadcast", "--discovery-interface <name|address>", "--network-name <name>",
                     "--broadcast-port <port>", "--no-broadcast-multicast", "--target-peers <n>", "--no-peer-exchange" })
            Assert.Contains(option, help.Transcript);
        Assert.DoesNotContain("--discovery-interval", help.Transcript); // a hidden test knob
        Assert.Contains("off by default", help.Transcript);
    }

    [Fact]
    public async Task Alone_the_chat_says_what_it_did_with_each_line()
    {
        await using var chat = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0");
        await ReadBannerAsync(chat);
        await chat.ExpectAsync("type a message", Timeout);
        Assert.DoesNotContain("* discovery", chat.Transcript); // discovery is off unless asked for
        Assert.DoesNotContain("auto-connect", chat.Transcript);

        await chat.SendAsync("anyone?");
        Assert.Equal("* no peer connected: message not sent", await chat.NextLineAsync(Timeout));
        await chat.SendAsync("/connect not-an-address");
        Assert.Equal("* 'not-an-address' is not a TCP multiaddr like /ip4/127.0.0.1/tcp/4001/p2p/<PeerId>", await chat.NextLineAsync(Timeout));
        await chat.SendAsync("/connect /ip4/127.0.0.1/tcp/1");
        Assert.StartsWith("* cannot connect to /ip4/127.0.0.1/tcp/1", await chat.NextLineAsync(Timeout));
        await chat.SendAsync("/block nobody");
        Assert.Equal("* 'nobody' is not a PeerId", await chat.NextLineAsync(Timeout));
        await chat.SendAsync("/what");
        Assert.Equal("* commands: /peers, /connect ADDR, /msg ID TEXT, /block ID, /unblock ID, /send PATH, /get N, /help, /quit", await chat.NextLineAsync(Timeout));
        await chat.SendAsync(new string('x', 512 * 1024 + 1));
        Assert.Equal($"* message too long ({512 * 1024 + 1} characters, at most {512 * 1024}): not sent", await chat.NextLineAsync(Timeout));
        await chat.SendAsync("/peers");
        Assert.Equal("* 0 connected, 0 known", await chat.NextLineAsync(Timeout));

        await chat.SendAsync(" /quit ");
        Assert.Equal(0, await chat.WaitForExitAsync(Timeout));
    }

    [Fact]
    public async Task Block_disconnects_the_peer_and_it_cannot_come_back()
    {
        await using var a = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0");
        var (aId, aAddr) = await ReadBannerAsync(a);
        await using var b = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--peer", aAddr.ToString());
        var (bId, _) = await ReadBannerAsync(b);
        await b.ExpectAsync("* channel open", Timeout);
        await a.ExpectAsync($"* connected {bId}", Timeout);

        await a.SendAsync($"/block {bId}");
        Assert.Equal($"* blocked {bId}", await a.ExpectAsync("* blocked", Timeout));
        Assert.StartsWith($"* disconnected {bId}", await a.ExpectAsync("* disconnected", Timeout));
        Assert.Equal($"* disconnected {aId} (peer disconnected: blocked)", await b.ExpectAsync("* disconnected", Timeout));

        await b.SendAsync($"/connect {aAddr}");
        Assert.StartsWith($"* cannot connect to {aAddr}", await b.ExpectAsync("* cannot connect", Timeout));
    }

    [Fact]
    public async Task Interrupt_stops_the_chat_gracefully()
    {
        if (OperatingSystem.IsWindows()) return; // SIGINT is a POSIX signal; Ctrl+C on Windows goes through the console
        await using var a = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0");
        var (_, aAddr) = await ReadBannerAsync(a);
        await using var b = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--peer", aAddr.ToString());
        var (bId, _) = await ReadBannerAsync(b);
        await b.ExpectAsync("type a message", Timeout); // reading standard input now
        await a.ExpectAsync($"* connected {bId}", Timeout);

        // Ctrl+C while the chat waits for input: it still says goodbye (DisconnectPacket) and exits 0.
        using (var kill = Process.Start("kill", ["-INT", b.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync().WaitAsync(Timeout);
        Assert.Equal(0, await b.WaitForExitAsync(Timeout));
        Assert.Equal($"* disconnected {bId} (peer disconnected: network stopping)", await a.ExpectAsync("* disconnected", Timeout));
    }

    /// <summary>Reads "peer id X" and the first "listening on ADDR" line.</summary>
    [Fact]
    public async Task A_reset_connection_prints_resuming_then_resumed_on_both_sides_and_a_line_typed_meanwhile_arrives()
    {
        await using var a = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0");
        var (aId, aAddr) = await ReadBannerAsync(a);
        await using var proxy = new FaultProxy(aAddr.ToIPEndPoint()!);
        var via = Multiaddr.FromEndPoint(proxy.EndPoint).WithPeerId(aId);
        await using var b = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--peer", via.ToString());
        var (bId, _) = await ReadBannerAsync(b);
        await b.ExpectAsync("type a message", Timeout);
        Assert.Equal($"* connected {bId}", await a.ExpectAsync("* connected", Timeout));

        // The connection is reset under both: the listener (a) waits for b to redial, b redials; both resume.
        proxy.ResetAll();
        Assert.Equal($"* resuming {bId}", await a.ExpectAsync("* resuming", Timeout));
        await a.SendAsync("typed while resuming");
        Assert.Equal($"* resuming {aId}", await b.ExpectAsync("* resuming", Timeout));
        Assert.Equal($"* resumed {aId}", await b.ExpectAsync("* resumed", Timeout));
        Assert.Equal($"* resumed {bId}", await a.ExpectAsync("* resumed", Timeout));
        Assert.Equal($"{aId}: typed while resuming", await b.ExpectAsync($"{aId}:", Timeout));

        await b.SendAsync("/quit");
        Assert.Equal(0, await b.WaitForExitAsync(Timeout));
        Assert.Equal($"* disconnected {bId} (peer disconnected: network stopping)", await a.ExpectAsync("* disconnected", Timeout));
        await a.SendAsync("/quit");
        Assert.Equal(0, await a.WaitForExitAsync(Timeout));
        Assert.DoesNotContain("not delivered", a.Transcript + b.Transcript, StringComparison.Ordinal);
    }

    private static async Task<(PeerId Id, Multiaddr Address)> ReadBannerAsync(LineProcess chat)
    {
        string idLine = await chat.ExpectAsync("peer id ", Timeout);
        var id = PeerId.Parse(idLine["peer id ".Length..]);
        string listenLine = await chat.ExpectAsync("listening on ", Timeout);
        var address = Multiaddr.Parse(listenLine["listening on ".Length..]);
        Assert.Equal(id, address.PeerId);
        Assert.StartsWith("/ip4/127.0.0.1/tcp/", address.ToString(), StringComparison.Ordinal);
        return (id, address);
    }
}
