using System.Net;
using System.Net.Http.Json;
using P2PNet.Core;

namespace P2PNet.Bootstrap.Tests;

/// <summary>The admin API over plain HTTP: the cookie is required; sign-in by token or PBKDF2 password.</summary>
public sealed class AdminApiTests
{
    private static readonly string[] Gets = ["admin/api/overview", "admin/api/peers", "admin/api/log"];

    [Fact]
    public async Task Admin_endpoints_refuse_requests_without_the_cookie()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path);
        using var http = new HttpClient();
        using var peer = Identity.Generate();
        foreach (string path in Gets)
        {
            using var response = await http.GetAsync(new Uri(server.Url(), path));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        foreach (string path in (string[])[$"admin/api/peers/{peer.PeerId}/block", $"admin/api/peers/{peer.PeerId}/unblock", "admin/api/sign-out"])
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Url(), path));
            request.Headers.Add("X-P2PNet-Admin", "1");
            request.Headers.Add("Cookie", "p2pnet_admin=forged");
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        Assert.Empty(server.Store.Blocked);
        // The page itself is public (it shows the sign-in form).
        using var page = await http.GetAsync(new Uri(server.Url(), "admin"));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public async Task Sign_in_with_a_password_hash_sets_a_strict_httponly_cookie_and_actions_are_logged()
    {
        using var folder = new TempFolder();
        string hash = AdminPassword.Hash("correct horse", iterations: 1000);
        await using var server = await TestServer.StartAsync(folder.Path, o => o.Admin.PasswordHash = hash);
        Assert.Null(server.AdminToken);
        var cookies = new CookieContainer();
        using var http = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = server.Url() };
        http.DefaultRequestHeaders.Add("X-P2PNet-Admin", "1");

        using (var wrong = await http.PostAsJsonAsync("admin/api/sign-in", new AdminSignIn { Password = "wrong" }, ServerJsonContext.Default.AdminSignIn))
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        using (var ok = await http.PostAsJsonAsync("admin/api/sign-in", new AdminSignIn { Password = "correct horse" }, ServerJsonContext.Default.AdminSignIn))
        {
            Assert.Equal(HttpStatusCode.NoContent, ok.StatusCode);
            string setCookie = ok.Headers.GetValues("Set-Cookie").Single();
            Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        }
        using var peer = Identity.Generate();
        using (var block = await http.PostAsync($"admin/api/peers/{peer.PeerId}/block", null)) Assert.Equal(HttpStatusCode.NoContent, block.StatusCode);
        Assert.True(server.Store.IsBlocked(peer.PeerId.ToString()));
        // Blocked peers cannot register.
        using (var plain = new HttpClient())
        using (var refused = await TestServer.PostAsync(plain, server, TestServer.Registration(peer)))
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        // Without the CSRF header a state change is refused even with the cookie.
        using (var request = new HttpRequestMessage(HttpMethod.Post, $"admin/api/peers/{peer.PeerId}/unblock"))
        {
            request.Headers.Remove("X-P2PNet-Admin");
            using var noHeader = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = server.Url() };
            using var response = await noHeader.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
        var overview = await http.GetFromJsonAsync("admin/api/overview", ServerJsonContext.Default.AdminOverview);
        Assert.Equal(1, overview!.BlockedCount);
        Assert.Equal("Trustless", overview.Mode);
        var log = await http.GetFromJsonAsync("admin/api/log", ServerJsonContext.Default.ListAdminLogEntry);
        Assert.Equal(["block", "sign-in", "sign-in-failed"], log!.Select(e => e.Action));
    }
}
