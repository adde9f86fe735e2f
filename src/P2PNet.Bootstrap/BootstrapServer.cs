using System.Net;
using System.Security.Cryptography;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Bootstrap;

/// <summary>
/// The bootstrap server: builds and runs the ASP.NET Core app (peer registry endpoints, admin dashboard)
/// from appsettings.json, <c>P2PNET_</c> / plain environment variables and command-line arguments, in that
/// order of precedence (last wins). Used by <c>Program</c> (<c>dotnet run --project src/P2PNet.Bootstrap</c>),
/// by <c>p2pnet bootstrap</c>, and by tests in-process.
/// </summary>
public sealed class BootstrapServer : IAsyncDisposable
{
    /// <summary>Rate-limiter policy of registrations and heartbeats.</summary>
    internal const string RegisterPolicy = "register";

    /// <summary>Rate-limiter policy of queries.</summary>
    internal const string QueryPolicy = "query";

    /// <summary>Rate-limiter policy of admin sign-ins.</summary>
    internal const string SignInPolicy = "sign-in";

    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _cleanup;
    private int _disposed;

    private BootstrapServer(WebApplication app, BootstrapServerOptions options, PeerStore store, Identity? identity, TimeProvider time, string? adminToken)
    {
        _app = app;
        Options = options;
        Store = store;
        AuthorityIdentity = identity;
        Time = time;
        AdminToken = adminToken;
        Signer = new AnswerSigner(identity);
        Meter = new RegistrationMeter(time);
        StartedAt = time.GetUtcNow();
        Logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<BootstrapServer>();
    }

    /// <summary>The settings in force.</summary>
    public BootstrapServerOptions Options { get; }

    /// <summary>Trustless or Authority.</summary>
    public BootstrapMode Mode => Options.Mode;

    /// <summary>The authority's PeerId (authority mode), else null.</summary>
    public PeerId? AuthorityId => AuthorityIdentity?.PeerId;

    /// <summary>The admin sign-in token printed at start when no password hash is configured, else null.</summary>
    public string? AdminToken { get; }

    /// <summary>The URLs Kestrel listens on (actual ports, also when port 0 was asked).</summary>
    public IReadOnlyList<Uri> Urls =>
        [.. (_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []).Select(a => new Uri(a.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)))];

    internal PeerStore Store { get; }

    internal Identity? AuthorityIdentity { get; }

    internal TimeProvider Time { get; }

    internal AnswerSigner Signer { get; }

    internal RegistrationMeter Meter { get; }

    internal DateTimeOffset StartedAt { get; }

    internal ILogger Logger { get; }

    internal long Now => Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The oldest last-seen time (Unix ms) of a live registration.</summary>
    internal long Cutoff => Now - (long)Options.PeerTtl.TotalMilliseconds;

    /// <summary>
    /// Builds and starts a server. <paramref name="configure"/> runs after configuration binding (tests use it).
    /// </summary>
    /// <param name="args">Command-line arguments (<c>--urls</c>, <c>--Bootstrap:Key=value</c>).</param>
    /// <param name="configure">Changes to the bound options.</param>
    /// <param name="timeProvider">The clock (tests move it); null is the system clock.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<BootstrapServer> StartAsync(string[] args, Action<BootstrapServerOptions>? configure = null, TimeProvider? timeProvider = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = typeof(BootstrapServer).Assembly.GetName().Name,
        });
        builder.Configuration.AddEnvironmentVariables("P2PNET_");
        // A failed start (a port in use, say) surfaces as the exception StartAsync throws; the host would also log
        // it with its 20-line stack trace first.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        // The key ring sits in a 0700 folder beside the database (KeyRingFolder), files 0600: encrypting it would
        // need yet another secret stored beside it, so "No XML encryptor configured" would warn about nothing new.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager", LogLevel.Error);
        builder.Configuration.AddCommandLine(args);
        var options = new BootstrapServerOptions();
        builder.Configuration.GetSection("Bootstrap").Bind(options);
        configure?.Invoke(options);
        Validate(options);
        var time = timeProvider ?? TimeProvider.System;

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
        });
        if (builder.Configuration["Urls"] is null && builder.Configuration["urls"] is null) builder.WebHost.UseUrls("http://0.0.0.0:5080");
        builder.Services.AddSingleton(time);
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = async (context, token) =>
            {
                var http = context.HttpContext;
                ServerLog.RateLimited(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger<BootstrapServer>(), ClientIp(http)?.ToString(), http.Request.Path);
                http.Response.Headers.RetryAfter = "60";
                await PublicEndpoints.WriteErrorAsync(http, StatusCodes.Status429TooManyRequests, "rate-limited", "too many requests from this address; retry later").ConfigureAwait(false);
            };
            limiter.AddPolicy(RegisterPolicy, http => PerClient(http, options.RegistrationsPerMinute));
            limiter.AddPolicy(QueryPolicy, http => PerClient(http, options.QueriesPerMinute));
            limiter.AddPolicy(SignInPolicy, http => PerClient(http, options.Admin.SignInsPerMinute));
        });
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(cookie =>
        {
            cookie.Cookie.Name = "p2pnet_admin";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = options.Admin.RequireHttpsCookie ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
            cookie.Cookie.Path = "/admin";
            cookie.ExpireTimeSpan = options.Admin.SessionLifetime;
            cookie.SlidingExpiration = false;
            // An API: answer 401/403 instead of redirecting to a login page.
            cookie.Events.OnRedirectToLogin = context => { context.Response.StatusCode = StatusCodes.Status401Unauthorized; return Task.CompletedTask; };
            cookie.Events.OnRedirectToAccessDenied = context => { context.Response.StatusCode = StatusCodes.Status403Forbidden; return Task.CompletedTask; };
        });
        builder.Services.AddAuthorization();
        // The admin cookie is protected by data-protection keys: keep them beside the database (a private folder),
        // so that sessions survive a restart and nothing lands in ~/.aspnet.
        builder.Services.AddDataProtection().SetApplicationName("P2PNet.Bootstrap").PersistKeysToFileSystem(new DirectoryInfo(KeyRingFolder(options.Database)));
        if (!string.IsNullOrEmpty(options.MetricsPath)) BootstrapMetrics.AddPrometheus(builder.Services);
        if (options.TrustedProxies.Count > 0)
        {
            builder.Services.Configure<ForwardedHeadersOptions>(forwarded =>
            {
                forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
                forwarded.KnownIPNetworks.Clear();
                forwarded.KnownProxies.Clear();
                foreach (string proxy in options.TrustedProxies) forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            });
        }

        var app = builder.Build();
        var store = new PeerStore(options.Database);
        Identity? identity = null;
        BootstrapServer? server = null;
        try
        {
            await store.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (options.Mode == BootstrapMode.Authority)
                identity = await Identity.LoadOrCreateAsync(Path.GetFullPath(options.IdentityKeyFile), cancellationToken).ConfigureAwait(false);
            string? token = string.IsNullOrEmpty(options.Admin.PasswordHash) ? Base64Url(RandomNumberGenerator.GetBytes(24)) : null;
            server = new BootstrapServer(app, options, store, identity, time, token);

            if (options.TrustedProxies.Count > 0) app.UseForwardedHeaders();
            app.UseRateLimiter();
            app.UseAuthentication();
            app.UseAuthorization();
            new PublicEndpoints(server).Map(app);
            new AdminEndpoints(server).Map(app);
            if (!string.IsNullOrEmpty(options.MetricsPath)) BootstrapMetrics.MapPrometheus(app, options.MetricsPath);

            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            server._cleanup = Task.Run(server.CleanupLoopAsync, CancellationToken.None);
            ServerLog.Started(server.Logger, options.Mode.ToString(), identity is null ? "" : " " + identity.PeerId, string.Join(' ', server.Urls), store.Path);
            return server;
        }
        catch
        {
            if (server is not null) await server.DisposeAsync().ConfigureAwait(false);
            else
            {
                await store.DisposeAsync().ConfigureAwait(false);
                identity?.Dispose();
                await app.DisposeAsync().ConfigureAwait(false);
            }
            throw;
        }
    }

    /// <summary>
    /// Runs the server until Ctrl+C (or <paramref name="cancellationToken"/>); prints the URLs, the mode, the
    /// authority PeerId and the admin token to standard output. <c>hash-password PASSWORD</c> prints a hash instead.
    /// </summary>
    /// <returns>The process exit code.</returns>
    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length > 0 && args[0] == "hash-password")
        {
            if (args.Length != 2)
            {
                await Console.Error.WriteLineAsync("usage: hash-password PASSWORD").ConfigureAwait(false);
                return 2;
            }
            await Console.Out.WriteLineAsync(AdminPassword.Hash(args[1])).ConfigureAwait(false);
            return 0;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            // The lines below say where it listens; the host's own "Now listening on…" and "Application is shutting
            // down…" would repeat them (and follow a failed start's one error line). Later arguments override this.
            await using var server = await StartAsync(["--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning", .. args], cancellationToken: stop.Token).ConfigureAwait(false);
            await Console.Out.WriteLineAsync($"bootstrap server ({server.Mode}) on {string.Join(' ', server.Urls)}").ConfigureAwait(false);
            await Console.Out.WriteLineAsync($"admin dashboard {new Uri(server.Urls[0], "admin")}").ConfigureAwait(false);
            if (server.AuthorityId is { } authority) await Console.Out.WriteLineAsync($"authority {authority}").ConfigureAwait(false);
            if (server.AdminToken is { } token) await Console.Out.WriteLineAsync($"admin sign-in token (valid while this process runs): {token}").ConfigureAwait(false);
            await Console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C
            }
            return 0;
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or FormatException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Stops the server and closes the database.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_cleanup is not null)
        {
            try
            {
                await _cleanup.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // stopping
            }
        }
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await Store.DisposeAsync().ConfigureAwait(false);
        AuthorityIdentity?.Dispose();
        _stopping.Dispose();
    }

    /// <summary>Deletes expired registrations once now (the cleanup loop does it periodically).</summary>
    public async Task<int> ExpireNowAsync(CancellationToken cancellationToken = default)
    {
        int deleted = await Store.DeleteExpiredAsync(Cutoff, cancellationToken).ConfigureAwait(false);
        if (deleted > 0) ServerLog.Expired(Logger, deleted);
        return deleted;
    }

    /// <summary>The client's address: the socket's peer, or X-Forwarded-For's when a trusted proxy sent it (applied by middleware).</summary>
    internal static IPAddress? ClientIp(HttpContext http)
    {
        var address = http.Connection.RemoteIpAddress;
        return address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;
    }

    private static RateLimitPartition<string> PerClient(HttpContext http, int perMinute) =>
        RateLimitPartition.GetFixedWindowLimiter(ClientIp(http)?.ToString() ?? "unknown", _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = Math.Max(1, perMinute),
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        });

    private static void Validate(BootstrapServerOptions options)
    {
        if (options.PeerTtl <= TimeSpan.Zero) throw new ArgumentException("Bootstrap:PeerTtl must be positive");
        if (options.FreshnessWindow <= TimeSpan.Zero || options.FreshnessWindow > options.PeerTtl)
            throw new ArgumentException("Bootstrap:FreshnessWindow must be positive and not above Bootstrap:PeerTtl (replay protection relies on it)");
        if (options.CleanupInterval <= TimeSpan.Zero) throw new ArgumentException("Bootstrap:CleanupInterval must be positive");
        if (options.MaxPeersPerQuery is < 1 or > BootstrapLimits.MaxPeersPerAnswer)
            throw new ArgumentException($"Bootstrap:MaxPeersPerQuery must be within 1..{BootstrapLimits.MaxPeersPerAnswer}");
        if (options.MaxRequestBodyBytes is < 1024 or > 1 << 20) throw new ArgumentException("Bootstrap:MaxRequestBodyBytes must be within 1024..1048576");
        foreach (string proxy in options.TrustedProxies)
            if (!IPAddress.TryParse(proxy, out _)) throw new ArgumentException($"Bootstrap:TrustedProxies: '{proxy}' is not an IP address");
    }

    /// <summary>Where the data-protection key ring lives: <c>&lt;database&gt;.keys/</c> beside the database, created 0700.</summary>
    internal static string KeyRingFolder(string database)
    {
        string folder = Path.GetFullPath(database) + ".keys";
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(folder);
        else Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return folder;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private async Task CleanupLoopAsync()
    {
        using var timer = new PeriodicTimer(Options.CleanupInterval, Time);
        while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
        {
            try
            {
                await ExpireNowAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!_stopping.IsCancellationRequested)
            {
                ServerLog.CleanupFailed(Logger, ex.Message);
            }
        }
    }
}
