using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using P2PNet.Core;

namespace P2PNet.Bootstrap;

/// <summary>
/// The admin dashboard: <c>GET /admin</c> (page and script, embedded in the assembly) and the JSON API under
/// <c>/admin/api</c>. Every API call but sign-in needs the admin cookie (HttpOnly, SameSite=Strict, path
/// /admin); state-changing calls also need the <c>X-P2PNet-Admin</c> header, which a cross-site form cannot send.
/// </summary>
internal sealed class AdminEndpoints
{
    /// <summary>Header every state-changing admin call must carry (CSRF guard beside SameSite=Strict).</summary>
    public const string CsrfHeader = "X-P2PNet-Admin";

    private readonly BootstrapServer _server;

    public AdminEndpoints(BootstrapServer server) => _server = server;

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", (RequestDelegate)(http => { http.Response.Redirect("/admin"); return Task.CompletedTask; }));
        // HEAD like GET (monitoring probes and curl -I), headers without the body.
        app.MapMethods("/admin", [HttpMethods.Get, HttpMethods.Head], (RequestDelegate)(http => ServeResourceAsync(http, "admin.html", "text/html; charset=utf-8")));
        app.MapMethods("/admin/app.js", [HttpMethods.Get, HttpMethods.Head], (RequestDelegate)(http => ServeResourceAsync(http, "admin.js", "text/javascript; charset=utf-8")));
        app.MapPost("/admin/api/sign-in", (RequestDelegate)SignInAsync).RequireRateLimiting(BootstrapServer.SignInPolicy);
        var api = app.MapGroup("/admin/api").RequireAuthorization();
        api.MapPost("/sign-out", (RequestDelegate)SignOutAsync);
        api.MapGet("/overview", (RequestDelegate)OverviewAsync);
        api.MapGet("/peers", (RequestDelegate)PeersAsync);
        api.MapGet("/log", (RequestDelegate)LogAsync);
        api.MapPost("/peers/{peerId}/block", (RequestDelegate)(http => BlockAsync(http, block: true)));
        api.MapPost("/peers/{peerId}/unblock", (RequestDelegate)(http => BlockAsync(http, block: false)));
    }

    private static async Task ServeResourceAsync(HttpContext http, string name, string contentType)
    {
        var stream = typeof(AdminEndpoints).Assembly.GetManifestResourceStream("P2PNet.Bootstrap." + name);
        if (stream is null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        await using (stream.ConfigureAwait(false))
        {
            http.Response.ContentType = contentType;
            http.Response.Headers.ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
            http.Response.Headers.XFrameOptions = "DENY";
            http.Response.Headers["X-Content-Type-Options"] = "nosniff";
            http.Response.Headers["Referrer-Policy"] = "no-referrer";
            http.Response.ContentLength = stream.Length;
            if (HttpMethods.IsHead(http.Request.Method)) return;
            await stream.CopyToAsync(http.Response.Body, http.RequestAborted).ConfigureAwait(false);
        }
    }

    private static bool HasCsrfHeader(HttpContext http) => http.Request.Headers[CsrfHeader] == "1";

    private async Task SignInAsync(HttpContext http)
    {
        string? clientIp = BootstrapServer.ClientIp(http)?.ToString();
        if (!HasCsrfHeader(http))
        {
            await PublicEndpoints.WriteErrorAsync(http, StatusCodes.Status400BadRequest, "csrf", $"missing {CsrfHeader} header").ConfigureAwait(false);
            return;
        }
        AdminSignIn? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(http.Request.Body, ServerJsonContext.Default.AdminSignIn, http.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonException or BadHttpRequestException)
        {
            await PublicEndpoints.WriteErrorAsync(http, StatusCodes.Status400BadRequest, "malformed", "expected {\"password\": \"...\"}").ConfigureAwait(false);
            return;
        }
        string password = request?.Password ?? "";
        bool ok = password.Length is > 0 and <= 1024 && (_server.Options.Admin.PasswordHash is { Length: > 0 } hash
            ? AdminPassword.Verify(password, hash)
            : _server.AdminToken is { } token && AdminPassword.TokenEquals(password, token));
        await LogAsync(ok ? "sign-in" : "sign-in-failed", null, clientIp).ConfigureAwait(false);
        if (!ok)
        {
            await PublicEndpoints.WriteErrorAsync(http, StatusCodes.Status401Unauthorized, "wrong-password", "wrong password or token").ConfigureAwait(false);
            return;
        }
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "admin")], CookieAuthenticationDefaults.AuthenticationScheme));
        await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal).ConfigureAwait(false);
        http.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private async Task SignOutAsync(HttpContext http)
    {
        if (!HasCsrfHeader(http))
        {
            await PublicEndpoints.WriteErrorAsync(http, StatusCodes.Status400BadRequest, "csrf", $"missing {CsrfHeader} header").ConfigureAwait(false);
            return;
        }
        await LogAsync("sign-out", null, BootstrapServer.ClientIp(http)?.ToString()).ConfigureAwait(false);
        await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme).ConfigureAwait(false);
        http.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private async Task OverviewAsync(HttpContext http)
    {
        long count = await _server.Store.CountAsync(_server.Cutoff, http.RequestAborted).ConfigureAwait(false);
        await http.Response.WriteAsJsonAsync(new AdminOverview
        {
            PeerCount = count,
            RegistrationsPerMinute = _server.Meter.LastMinute(),
            Mode = _server.Mode.ToString(),
            Identity = _server.AuthorityId?.ToString(),
            BlockedCount = _server.Store.Blocked.Count,
            UptimeSeconds = (long)(_server.Time.GetUtcNow() - _server.StartedAt).TotalSeconds,
        }, ServerJsonContext.Default.AdminOverview).ConfigureAwait(false);
    }

    private async Task PeersAsync(HttpContext http)
    {
        var peers = await _server.Store.ListAsync(_server.Cutoff, PeerStore.MaxListRows, http.RequestAborted).ConfigureAwait(false);
        await http.Response.WriteAsJsonAsync(peers, ServerJsonContext.Default.ListStoredPeer).ConfigureAwait(false);
    }

    private async Task LogAsync(HttpContext http)
    {
        var entries = await _server.Store.ReadAdminLogAsync(200, http.RequestAborted).ConfigureAwait(false);
        await http.Response.WriteAsJsonAsync(entries, ServerJsonContext.Default.ListAdminLogEntry).ConfigureAwait(false);
    }

    private async Task BlockAsync(HttpContext http, bool block)
    {
        if (!HasCsrfHeader(http))
        {
            await PublicEndpoints.WriteErrorAsync(http, StatusCodes.Status400BadRequest, "csrf", $"missing {CsrfHeader} header").ConfigureAwait(false);
            return;
        }
        string? text = http.Request.RouteValues["peerId"] as string;
        if (!PeerId.TryParse(text, out var id))
        {
            await PublicEndpoints.WriteErrorAsync(http, StatusCodes.Status400BadRequest, "invalid", "not a PeerId").ConfigureAwait(false);
            return;
        }
        string peerId = id.ToString();
        if (block) await _server.Store.BlockAsync(peerId, _server.Now, http.RequestAborted).ConfigureAwait(false);
        else await _server.Store.UnblockAsync(peerId, http.RequestAborted).ConfigureAwait(false);
        await LogAsync(block ? "block" : "unblock", peerId, BootstrapServer.ClientIp(http)?.ToString()).ConfigureAwait(false);
        http.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private async Task LogAsync(string action, string? target, string? clientIp)
    {
        // Block and unblock change the registry (warning); a sign-in or sign-out is routine and has no target.
        if (target is not null) ServerLog.AdminAction(_server.Logger, action, target, clientIp);
        else if (action == "sign-in-failed") ServerLog.AdminSignInFailed(_server.Logger, clientIp);
        else ServerLog.AdminSession(_server.Logger, action, clientIp);
        await _server.Store.LogAdminAsync(action, target, clientIp, _server.Now).ConfigureAwait(false);
    }
}
