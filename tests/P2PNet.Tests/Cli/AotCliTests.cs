using P2PNet.Core;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Cli;

/// <summary>
/// The Native AOT <c>p2pnet</c> (<c>dotnet publish src/P2PNet.Cli -r linux-x64 -p:PublishAot=true</c>, published once
/// per run by scripts/test.sh, path in <c>P2PNET_AOT_CLI</c>) as real processes: what trimming or AOT could break
/// (reflection, JSON, native libsodium and SQLite loading) shows up as a failure here.
/// </summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class AotCliTests
{
    internal const string Variable = "P2PNET_AOT_CLI";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [BuiltArtifactFact(Variable)]
    public async Task Aot_chats_exchange_lines_both_ways_and_quit()
    {
        await using var a = Start("chat", "--listen", "/ip4/127.0.0.1/tcp/0");
        var (aId, aAddr) = await ReadBannerAsync(a);
        await using var b = Start("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--peer", aAddr.ToString());
        var (bId, _) = await ReadBannerAsync(b);
        Assert.Contains(aId.ToString(), await b.ExpectAsync("* channel open", Timeout));
        await b.ExpectAsync("type a message", Timeout);
        await a.ExpectAsync("type a message", Timeout);
        Assert.Contains(bId.ToString(), await a.ExpectAsync("* connected", Timeout));

        await b.SendAsync("hello from the AOT b");
        Assert.Contains(bId.ToString(), await ExpectContainingAsync(a, "hello from the AOT b"));
        await a.SendAsync("and back from a");
        Assert.Contains(aId.ToString(), await ExpectContainingAsync(b, "and back from a"));

        await b.SendAsync("/quit");
        Assert.Equal(0, await b.WaitForExitAsync(Timeout));
        Assert.Contains(bId.ToString(), await a.ExpectAsync("* disconnected", Timeout));
        await a.SendAsync("/quit");
        Assert.Equal(0, await a.WaitForExitAsync(Timeout));
        Assert.DoesNotContain("error", a.StandardError + b.StandardError, StringComparison.OrdinalIgnoreCase);
    }

    [BuiltArtifactFact(Variable)]
    public async Task Aot_listen_id_and_ping()
    {
        string dir = Directory.CreateTempSubdirectory("p2pnet-aot").FullName;
        try
        {
            string key = Path.Combine(dir, "node.key");
            await using var listener = Start("listen", "--listen", "/ip4/127.0.0.1/tcp/0", "--key", key);
            var addr = Multiaddr.Parse(await listener.ExpectAsync("/ip4/127.0.0.1/tcp/", Timeout));
            var peerId = addr.PeerId!;

            await using (var id = Start("id", "--key", key))
            {
                await ExpectContainingAsync(id, peerId.ToString());
                Assert.Equal(0, await id.WaitForExitAsync(Timeout));
            }

            await using var ping = Start("ping", addr.ToString(), "--count", "2", "--interval", "0");
            for (int i = 1; i <= 2; i++) Assert.Contains($"seq={i} time=", await ping.ExpectAsync($"pong from {peerId}", Timeout));
            Assert.Equal(0, await ping.WaitForExitAsync(Timeout));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [BuiltArtifactFact(Variable)]
    public async Task Aot_share_and_get_verify_a_file()
    {
        string dir = Directory.CreateTempSubdirectory("p2pnet-aot-share").FullName;
        try
        {
            string source = Path.Combine(dir, "data.bin");
            await File.WriteAllBytesAsync(source, System.Security.Cryptography.RandomNumberGenerator.GetBytes(1_500_000));
            await using var share = Start("share", source, "--listen", "/ip4/127.0.0.1/tcp/0");
            string ticket = (await share.ExpectAsync("get: p2pnet get ", Timeout))["get: p2pnet get ".Length..];
            string outDir = Directory.CreateDirectory(Path.Combine(dir, "out")).FullName;

            await using var get = Start("get", ticket, "-o", outDir);
            string saved = await get.ExpectAsync("saved ", Timeout);
            Assert.StartsWith($"saved {Path.Combine(outDir, "data.bin")} 1500000 bytes ", saved);
            Assert.Equal(0, await get.WaitForExitAsync(Timeout));
            Assert.Equal(await File.ReadAllBytesAsync(source), await File.ReadAllBytesAsync(Path.Combine(outDir, "data.bin")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [BuiltArtifactFact(Variable)]
    public async Task Aot_ping_to_nobody_fails_with_a_clear_message()
    {
        using var id = Identity.Generate();
        await using var ping = Start("ping", $"/ip4/127.0.0.1/tcp/1/p2p/{id.PeerId}", "--count", "1", "--timeout", "5");
        Assert.Equal(1, await ping.WaitForExitAsync(Timeout));
        Assert.Contains("/ip4/127.0.0.1/tcp/1", ping.StandardError);
    }

    [BuiltArtifactFact(Variable)]
    public async Task Aot_bootstrap_server_opens_its_database_and_serves_metrics()
    {
        string dir = Directory.CreateTempSubdirectory("p2pnet-aot-bootstrap").FullName;
        try
        {
            // SQLite (native e_sqlite3), ASP.NET Core and the OpenTelemetry exporter, all under Native AOT.
            await using var server = Start("bootstrap", "--urls", "http://127.0.0.1:0", "--Bootstrap:Database", Path.Combine(dir, "b.db"),
                "--Logging:LogLevel:Default=Warning");
            string banner = await server.ExpectAsync("bootstrap server", Timeout);
            var url = new Uri(banner.Split(' ').First(w => w.StartsWith("http://", StringComparison.Ordinal)));
            using var http = new HttpClient { Timeout = Timeout };
            // A first request gives the request histogram a point (not /metrics: the exporter caches its answer briefly).
            using (await http.GetAsync(new Uri(url, "admin"))) { }
            string metrics = await http.GetStringAsync(new Uri(url, "metrics"));
            Assert.Contains("# TYPE http_server_request_duration_seconds histogram", metrics);
            Assert.True(File.Exists(Path.Combine(dir, "b.db")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static LineProcess Start(params string[] args)
    {
        string exe = BuiltArtifactFactAttribute.PathFrom(Variable);
        return LineProcess.Start(exe, Path.GetDirectoryName(Path.GetFullPath(exe))!, args);
    }

    private static async Task<(PeerId Id, Multiaddr Address)> ReadBannerAsync(LineProcess chat)
    {
        var address = Multiaddr.Parse((await chat.ExpectAsync("listening on ", Timeout))["listening on ".Length..]);
        return (address.PeerId!, address);
    }

    private static async Task<string> ExpectContainingAsync(LineProcess process, string text)
    {
        while (true)
        {
            string line = await process.NextLineAsync(Timeout);
            if (line.Contains(text, StringComparison.Ordinal)) return line;
        }
    }
}
