using System.Globalization;
using System.Text.RegularExpressions;
using P2PNet.Core;
using P2PNet.Protocols.Perf;
using P2PNet.Swarm;
using P2PNet.Tests.Support;
using Xunit.Abstractions;

namespace P2PNet.Tests.Protocols.Perf;

/// <summary>js-libp2p's side of /perf/1.0.0 (interop/js/perf.mjs, written from the spec) against our node, both ways.</summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed partial class JsPerfInteropTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static LineProcess StartJs(params string[] args) =>
        LineProcess.Start("node", RepoPaths.JsInterop, ["--import", "./polyfill.mjs", "perf.mjs", .. args]);

    [Fact]
    public async Task Js_perf_client_gets_the_bytes_it_asked_for_from_our_node()
    {
        using var id = Identity.Generate();
        await using var host = new SwarmHost(id);
        _ = new PerfService(host);
        var addr = (await host.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))).WithPeerId(id.PeerId);

        const int Download = 32 << 20;
        await using var js = StartJs("client", addr.ToString(), "--upload", "1000000", "--download", Download.ToString(CultureInfo.InvariantCulture));
        string line = await js.ExpectAsync("PERF ", Timeout);
        var m = PerfLine().Match(line);
        Assert.True(m.Success, line);
        Assert.Equal("1000000", m.Groups[1].Value);
        Assert.Equal(Download.ToString(CultureInfo.InvariantCulture), m.Groups[2].Value);
        Assert.Equal(0, await js.WaitForExitAsync(Timeout));
        Measure.Report(output, $"js perf client against P2PNet: {Download / double.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture) / 1e6:0.0} MB/s download");
    }

    [Fact]
    public async Task Our_perf_client_measures_a_js_perf_server()
    {
        await using var js = StartJs("server");
        var addr = Multiaddr.Parse((await js.ExpectAsync("LISTEN ", Timeout))["LISTEN ".Length..]);
        using var id = Identity.Generate();
        await using var host = new SwarmHost(id);
        var perf = new PerfService(host);
        var connection = await host.DialAsync(addr).WaitAsync(Timeout);
        var result = await perf.RunAsync(connection, 1_000_000, 8 << 20).WaitAsync(Timeout);
        Assert.Equal(8UL << 20, result.DownloadBytes);
    }

    [GeneratedRegex(@"^PERF upload=(\d+) download=(\d+) upload_s=([\d.]+) download_s=([\d.]+)$")]
    private static partial Regex PerfLine();
}
