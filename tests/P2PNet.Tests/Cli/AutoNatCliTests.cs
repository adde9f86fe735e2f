using P2PNet.Tests.Support;

namespace P2PNet.Tests.Cli;

/// <summary>AutoNAT v2 in the CLI: <c>--public-cidr</c> and the reachability line, between real processes on loopback.</summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class AutoNatCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Two_chats_with_loopback_listed_as_public_find_each_other_reachable()
    {
        await using var a = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--public-cidr", "127.0.0.0/8");
        string listening = await a.ExpectAsync("listening on ", Timeout);
        await using var b = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--peer", listening["listening on ".Length..], "--public-cidr", "127.0.0.0/8");

        Assert.Equal("* reachability public (autonat)", await b.ExpectAsync("* reachability", Timeout));
        Assert.Equal("* reachability public (autonat)", await a.ExpectAsync("* reachability", Timeout));
        await b.SendAsync("/quit");
        Assert.Equal(0, await b.WaitForExitAsync(Timeout));
        await a.SendAsync("/quit");
        Assert.Equal(0, await a.WaitForExitAsync(Timeout));
        Assert.DoesNotContain("error", a.StandardError + b.StandardError, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_bad_public_cidr_is_a_usage_error()
    {
        await using var listen = LineProcess.StartCli("listen", "--listen", "/ip4/127.0.0.1/tcp/0", "--key", Path.Combine(Path.GetTempPath(), $"p2pnet-{Guid.NewGuid():N}.key"), "--public-cidr", "300.0.0.0/8");
        Assert.Equal(2, await listen.WaitForExitAsync(Timeout));
        Assert.Contains("error: --public-cidr '300.0.0.0/8' is not a CIDR like 198.18.0.0/15", listen.StandardError);
    }
}
