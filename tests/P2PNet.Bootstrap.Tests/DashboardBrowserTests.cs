using P2PNet.Core;

namespace P2PNet.Bootstrap.Tests;

/// <summary>The dashboard in real headless chromium: sign in, see the peers, block one; screenshot as an artifact.</summary>
public sealed class DashboardBrowserTests
{
    [Fact]
    public async Task Sign_in_see_the_peers_and_block_one_in_chromium()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path, o => o.Mode = Peers.Bootstrap.BootstrapMode.Authority);
        using var http = new HttpClient();
        var peers = Enumerable.Range(0, 3).Select(_ => Identity.Generate()).ToList();
        try
        {
            foreach (var peer in peers)
                using (var response = await TestServer.PostAsync(http, server, TestServer.Registration(peer))) response.EnsureSuccessStatusCode();

            await using var browser = await DevTools.LaunchAsync(new Uri(server.Url(), "admin"));
            await browser.UntilAsync("document.getElementById('signin') && !document.getElementById('signin').hidden");
            await browser.EvaluateAsync($"document.getElementById('password').value = 'wrong'; document.getElementById('signin-button').click(); true");
            await browser.UntilAsync("document.getElementById('signin-error').textContent.includes('401')");
            await browser.EvaluateAsync($"document.getElementById('password').value = '{server.AdminToken}'; document.getElementById('signin-button').click(); true");
            await browser.UntilAsync("document.body.dataset.ready === 'true' && document.querySelectorAll('#peers tbody tr').length === 3");
            Assert.Equal("3", (await browser.EvaluateAsync("document.getElementById('peer-count').textContent"))!.GetValue<string>());
            Assert.Equal(server.AuthorityId!.ToString(), (await browser.EvaluateAsync("document.getElementById('identity').textContent"))!.GetValue<string>());
            // The session cookie is HttpOnly: scripts cannot read it.
            Assert.DoesNotContain("p2pnet_admin", (await browser.EvaluateAsync("document.cookie"))!.GetValue<string>());

            string target = peers[1].PeerId.ToString();
            await browser.EvaluateAsync($"document.querySelector('tr[data-peer-id=\"{target}\"] button.block').click(); true");
            await browser.UntilAsync($"document.querySelector('tr[data-peer-id=\"{target}\"] .status').textContent === 'blocked'");
            await browser.UntilAsync("[...document.querySelectorAll('#log tbody tr')].some(r => r.textContent.includes('block'))");
            Assert.True(server.Store.IsBlocked(target));
            Assert.False(server.Store.IsBlocked(peers[0].PeerId.ToString()));
            Assert.Contains(await server.Store.ReadAdminLogAsync(10), e => e.Action == "block" && e.Target == target);

            byte[] png = await browser.ScreenshotAsync();
            Assert.True(png.Length > 1000 && png[1] == (byte)'P' && png[2] == (byte)'N' && png[3] == (byte)'G');
            string dir = Environment.GetEnvironmentVariable("P2PNET_TEST_ARTIFACTS") ?? Path.Combine(AppContext.BaseDirectory, "TestResults");
            Directory.CreateDirectory(dir);
            await File.WriteAllBytesAsync(Path.Combine(dir, "bootstrap-dashboard.png"), png);
        }
        finally
        {
            foreach (var peer in peers) peer.Dispose();
        }
    }
}
