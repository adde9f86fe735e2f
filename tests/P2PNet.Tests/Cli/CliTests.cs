using P2PNet.Core;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Cli;

/// <summary>The p2pnet command as a real process.</summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class CliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Listen_prints_peer_id_and_addresses_and_ping_reaches_it()
    {
        string dir = Directory.CreateTempSubdirectory("p2pnet-cli").FullName;
        try
        {
            string key = Path.Combine(dir, "node.key");
            await using var listener = LineProcess.StartCli("listen", "--listen", "/ip4/127.0.0.1/tcp/0", "--key", key);
            var peerId = PeerId.Parse(await listener.NextLineAsync(Timeout));
            var addr = Multiaddr.Parse(await listener.ExpectAsync("/ip4/127.0.0.1/tcp/", Timeout));
            Assert.Equal(peerId, addr.PeerId);

            // `p2pnet id` with the same key file prints the same PeerId.
            await using (var id = LineProcess.StartCli("id", "--key", key))
            {
                Assert.Equal(peerId.ToString(), await id.NextLineAsync(Timeout));
                Assert.Equal(0, await id.WaitForExitAsync(Timeout));
            }

            await using var ping = LineProcess.StartCli("ping", addr.ToString(), "--count", "3", "--interval", "0");
            Assert.StartsWith($"connected to {peerId}", await ping.ExpectAsync("connected", Timeout));
            for (int i = 1; i <= 3; i++) Assert.Contains($"seq={i} time=", await ping.ExpectAsync("pong from", Timeout));
            Assert.Equal(0, await ping.WaitForExitAsync(Timeout));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Ping_to_nobody_fails_with_a_clear_message()
    {
        // Port 1 on loopback: nothing listens there, so the dial is refused at once.
        using var id = Identity.Generate();
        await using var ping = LineProcess.StartCli("ping", $"/ip4/127.0.0.1/tcp/1/p2p/{id.PeerId}", "--count", "1", "--timeout", "5");
        Assert.NotEqual(0, await ping.WaitForExitAsync(Timeout));
        Assert.Contains("error: cannot connect to /ip4/127.0.0.1/tcp/1", ping.StandardError);
    }

    [Fact]
    public async Task Ping_rejects_a_malformed_address()
    {
        await using var ping = LineProcess.StartCli("ping", "/ip4/999.1.1.1/tcp/1");
        Assert.Equal(2, await ping.WaitForExitAsync(Timeout));
        Assert.Contains("is not a TCP multiaddr", ping.StandardError);
    }
}
