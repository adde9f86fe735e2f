using System.Text.Json;
using System.Text.RegularExpressions;
using P2PNet.Core;
using P2PNet.Tests.Support;
using static P2PNet.Tests.Cli.CliProcess;

namespace P2PNet.Tests.Cli;

/// <summary><c>p2pnet ping</c> and <c>listen</c>: quiet by default, a summary line, JSON output.</summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed partial class PingCliTests
{
    [GeneratedRegex(@"^--- (12D3KooW\w+): (\d+) sent, (\d+) received, (\d+(?:\.\d)?)% loss, rtt min/avg/max = ([\d.]+)/([\d.]+)/([\d.]+) ms$")]
    private static partial Regex Summary();

    private static async Task<(LineProcess Listener, PeerId Id, Multiaddr Address)> ListenAsync(TempDir dir)
    {
        var listener = LineProcess.StartCli("listen", "--listen", "/ip4/127.0.0.1/tcp/0", "--key", dir.File("listen.key"));
        var id = PeerId.Parse(await listener.NextLineAsync(Wait));
        var address = Multiaddr.Parse(await listener.ExpectAsync("/ip4/127.0.0.1/tcp/", Wait));
        return (listener, id, address);
    }

    [Fact]
    public async Task Ping_is_quiet_ends_with_a_summary_and_the_listener_identifies_it_without_a_warning()
    {
        using var dir = new TempDir();
        var (listener, id, address) = await ListenAsync(dir);
        await using (listener)
        {
            await using var ping = LineProcess.StartCli("ping", address.ToString(), "-c", "3", "-i", "0");
            Assert.Equal(0, await ping.WaitForExitAsync(Wait));
            var lines = Lines(ping.Transcript);
            Assert.Equal($"connected to {id} at {address.WithoutPeerId()}", lines[0]);
            for (int i = 1; i <= 3; i++) Assert.Matches($@"^pong from {id}: seq={i} time=[\d.]+ ms$", lines[i]);
            var summary = Summary().Match(lines[4]);
            Assert.True(summary.Success, lines[4]);
            Assert.Equal(id.ToString(), summary.Groups[1].Value);
            Assert.Equal("3", summary.Groups[2].Value);
            Assert.Equal("3", summary.Groups[3].Value);
            Assert.Equal("0", summary.Groups[4].Value);
            Assert.Equal(5, lines.Length);
            Assert.Equal("", ping.StandardError); // no info logs without -v

            // The listener saw the connection come and go, identified the pinger, and warned about nothing.
            await Poll.UntilAsync(() => listener.StandardError.Contains("Connection closed", StringComparison.Ordinal), Wait, "the listener to log the closed connection");
            Assert.DoesNotContain("warn", listener.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("Identify", listener.StandardError, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Ctrl_C_while_pinging_still_prints_the_summary()
    {
        using var dir = new TempDir();
        var (listener, id, address) = await ListenAsync(dir);
        await using (listener)
        {
            await using var ping = LineProcess.StartCli("ping", address.ToString(), "-c", "1000", "-i", "0.05");
            await ping.ExpectAsync($"pong from {id}: seq=2 ", Wait);
            await InterruptAsync(ping);
            string last = await ping.ExpectAsync("--- ", Wait);
            var summary = Summary().Match(last);
            Assert.True(summary.Success, last);
            Assert.Equal(summary.Groups[2].Value, summary.Groups[3].Value); // nothing lost: an interrupted ping is not counted
            Assert.Equal(0, await ping.WaitForExitAsync(Wait));
        }
    }

    [Fact]
    public async Task Json_output_is_one_object_per_line_with_a_type()
    {
        using var dir = new TempDir();
        await using var listener = LineProcess.StartCli("listen", "--listen", "/ip4/127.0.0.1/tcp/0", "--key", dir.File("listen.key"), "--json");
        using var listening = JsonDocument.Parse(await listener.NextLineAsync(Wait));
        Assert.Equal("listening", listening.RootElement.GetProperty("type").GetString());
        var address = Multiaddr.Parse(listening.RootElement.GetProperty("addr").GetString()!);
        Assert.NotNull(address.PeerId);

        await using var ping = LineProcess.StartCli("ping", address.ToString(), "-c", "2", "-i", "0", "--json");
        Assert.Equal(0, await ping.WaitForExitAsync(Wait));
        var objects = Lines(ping.Transcript).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["connection", "pong", "pong", "summary"], objects.Select(o => o.GetProperty("type").GetString()));
        Assert.StartsWith("{\"type\":", ping.Transcript, StringComparison.Ordinal); // type comes first
        Assert.Equal(address.PeerId!.ToString(), objects[0].GetProperty("peerId").GetString());
        Assert.Equal(1, objects[1].GetProperty("seq").GetInt32());
        Assert.Equal(2, objects[2].GetProperty("seq").GetInt32());
        Assert.True(objects[2].GetProperty("rttMs").GetDouble() > 0);
        Assert.Equal(2, objects[3].GetProperty("sent").GetInt32());
        Assert.Equal(2, objects[3].GetProperty("received").GetInt32());
        Assert.Equal(0, objects[3].GetProperty("lossPercent").GetDouble());

        // The listener reported the pinger's connection as an event.
        using var opened = JsonDocument.Parse(await listener.ExpectAsync("{\"type\":\"connection\"", Wait));
        Assert.Equal("opened", opened.RootElement.GetProperty("event").GetString());
        Assert.Equal("inbound", opened.RootElement.GetProperty("direction").GetString());
    }
}
