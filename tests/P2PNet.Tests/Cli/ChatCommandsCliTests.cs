using P2PNet.Core;
using P2PNet.Tests.Support;
using static P2PNet.Tests.Cli.CliProcess;

namespace P2PNet.Tests.Cli;

/// <summary><c>p2pnet chat</c>: display names, the same status lines on both sides, /help, /msg, /unblock, blank lines, unreachable peers.</summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class ChatCommandsCliTests
{
    private static async Task<(PeerId Id, Multiaddr Address)> BannerAsync(LineProcess chat)
    {
        var id = PeerId.Parse((await chat.ExpectAsync("peer id ", Wait))["peer id ".Length..]);
        var address = Multiaddr.Parse((await chat.ExpectAsync("listening on ", Wait))["listening on ".Length..]);
        return (id, address);
    }

    [Fact]
    public async Task Names_show_in_messages_and_peers_both_sides_get_the_same_lines_and_the_commands_work()
    {
        await using var a = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--name", "alice");
        var (aId, aAddr) = await BannerAsync(a);
        await using var b = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--name", "bob", "--peer", aAddr.ToString());
        var (bId, _) = await BannerAsync(b);

        // The dialer and the listener print the same two lines.
        Assert.Equal($"* connected {aId} (alice)", await b.ExpectAsync("* connected", Wait));
        Assert.Equal($"* channel open with {aId} (alice)", await b.NextLineAsync(Wait));
        Assert.Equal($"* connected {bId} (bob)", await a.ExpectAsync("* connected", Wait));
        Assert.Equal($"* channel open with {bId} (bob)", await a.NextLineAsync(Wait));
        await b.ExpectAsync("type a message", Wait);

        // A blank or whitespace-only line is not sent: the next message is the first a sees.
        await b.SendAsync("   ");
        await b.SendAsync("hello from bob");
        Assert.Equal($"{bId} (bob): hello from bob", await a.ExpectAsync($"{bId}", Wait));

        await a.SendAsync("/peers");
        Assert.Equal("* 1 connected, 1 known", await a.ExpectAsync("* 1 connected", Wait));
        string row = await a.NextLineAsync(Wait);
        Assert.StartsWith($"*   {bId} Inbound Open 127.0.0.1:", row, StringComparison.Ordinal);
        Assert.EndsWith(" (bob)", row, StringComparison.Ordinal);

        await a.SendAsync("/help");
        foreach (string command in new[] { "/peers", "/connect ADDR", "/msg ID TEXT", "/block ID", "/unblock ID", "/send PATH", "/get N", "/quit" })
            Assert.StartsWith($"* {command} ", await a.NextLineAsync(Wait), StringComparison.Ordinal);
        Assert.StartsWith("* anything else", await a.NextLineAsync(Wait), StringComparison.Ordinal);

        await a.SendAsync($"/msg {bId} just for you");
        Assert.Equal($"{aId} (alice): just for you", await b.ExpectAsync($"{aId}", Wait));
        await a.SendAsync($"/msg {aId} to myself");
        Assert.Equal($"* no open channel with {aId}: message not sent", await a.NextLineAsync(Wait));
        await a.SendAsync("/msg nobody hi");
        Assert.Equal("* 'nobody' is not a PeerId", await a.NextLineAsync(Wait));

        // /connect to ourselves is refused before dialing.
        await a.SendAsync($"/connect {aAddr}");
        Assert.Equal($"* cannot connect to yourself ({aId})", await a.NextLineAsync(Wait));

        // Block, then unblock: the peer may come back.
        await a.SendAsync($"/block {bId}");
        Assert.Equal($"* blocked {bId}", await a.ExpectAsync("* blocked", Wait));
        await b.ExpectAsync("* disconnected", Wait);
        await a.SendAsync($"/unblock {bId}");
        Assert.Equal($"* unblocked {bId}", await a.ExpectAsync("* unblocked", Wait));
        await a.SendAsync($"/unblock {bId}");
        Assert.Equal($"* {bId} was not blocked", await a.ExpectAsync($"* {bId} was", Wait));
        await b.SendAsync($"/connect {aAddr}");
        Assert.Equal($"* connected {aId} (alice)", await b.ExpectAsync("* connected", Wait));

        await a.SendAsync("/quit");
        Assert.Equal(0, await a.WaitForExitAsync(Wait));
    }

    [Fact]
    public async Task With_only_peers_that_cannot_be_reached_the_chat_exits_1()
    {
        using var nobody = Identity.Generate();
        await using var chat = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--peer", $"/ip4/127.0.0.1/tcp/1/p2p/{nobody.PeerId}");
        Assert.Equal(1, await chat.WaitForExitAsync(Wait));
        Assert.Equal("error: the --peer could not be reached", AssertOneErrorLine(chat.StandardError));
        Assert.StartsWith("* cannot connect to /ip4/127.0.0.1/tcp/1", await chat.ExpectAsync("* cannot connect", Wait), StringComparison.Ordinal);
    }
}
