using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using P2PNet.Core;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Bootstrap;

/// <summary>
/// The peer-facing API: <c>POST /v1/register</c> (and <c>/v1/heartbeat</c>), <c>GET /v1/peers</c>,
/// <c>GET /v1/my-ip</c>, <c>GET /v1/identity</c>. Answers are <see cref="BootstrapEnvelope"/>s; refusals are
/// <see cref="BootstrapErrorAnswer"/>s with a 4xx status.
/// </summary>
internal sealed class PublicEndpoints
{
    private readonly BootstrapServer _server;

    public PublicEndpoints(BootstrapServer server) => _server = server;

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/register", (RequestDelegate)RegisterAsync).RequireRateLimiting(BootstrapServer.RegisterPolicy);
        app.MapPost("/v1/heartbeat", (RequestDelegate)RegisterAsync).RequireRateLimiting(BootstrapServer.RegisterPolicy);
        app.MapGet("/v1/peers", (RequestDelegate)PeersAsync).RequireRateLimiting(BootstrapServer.QueryPolicy);
        app.MapGet("/v1/my-ip", (RequestDelegate)MyIpAsync).RequireRateLimiting(BootstrapServer.QueryPolicy);
        app.MapGet("/v1/identity", (RequestDelegate)IdentityAsync).RequireRateLimiting(BootstrapServer.QueryPolicy);
    }

    public static Task WriteErrorAsync(HttpContext http, int status, string error, string detail)
    {
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(new BootstrapErrorAnswer { Error = error, Detail = detail }, BootstrapJsonContext.Default.BootstrapErrorAnswer);
    }

    private async Task WriteAnswerAsync<T>(HttpContext http, string kind, T answer, JsonTypeInfo<T> type)
    {
        byte[] body = _server.Signer.Envelope(kind, answer, type);
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/json";
        http.Response.Headers.CacheControl = "no-store";
        await http.Response.Body.WriteAsync(body, http.RequestAborted).ConfigureAwait(false);
    }

    private async Task RegisterAsync(HttpContext http)
    {
        string? clientIp = BootstrapServer.ClientIp(http)?.ToString();
        Task Refuse(int status, string error, string detail)
        {
            ServerLog.RegistrationRefused(_server.Logger, clientIp, error, detail);
            return WriteErrorAsync(http, status, error, detail);
        }

        if (http.Request.ContentLength > _server.Options.MaxRequestBodyBytes)
        {
            await Refuse(StatusCodes.Status413PayloadTooLarge, "too-large", $"body over {_server.Options.MaxRequestBodyBytes} bytes").ConfigureAwait(false);
            return;
        }
        BootstrapRegistration? registration;
        try
        {
            registration = await JsonSerializer.DeserializeAsync(http.Request.Body, BootstrapJsonContext.Default.BootstrapRegistration, http.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            await Refuse(StatusCodes.Status400BadRequest, "malformed", "body is not a registration: " + ex.Message).ConfigureAwait(false);
            return;
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await Refuse(StatusCodes.Status413PayloadTooLarge, "too-large", $"body over {_server.Options.MaxRequestBodyBytes} bytes").ConfigureAwait(false);
            return;
        }
        if (registration is null)
        {
            await Refuse(StatusCodes.Status400BadRequest, "malformed", "empty registration").ConfigureAwait(false);
            return;
        }
        if (Invalid(registration, out var peerId) is { } problem)
        {
            await Refuse(StatusCodes.Status400BadRequest, "invalid", problem).ConfigureAwait(false);
            return;
        }
        if (string.IsNullOrEmpty(registration.Signature))
        {
            await Refuse(StatusCodes.Status401Unauthorized, "unsigned", "registrations must be signed with the peer's identity key").ConfigureAwait(false);
            return;
        }
        // The PeerId parsed by the validation above: the signature check does not parse it again.
        if (!BootstrapSigning.VerifyRegistration(registration, peerId!))
        {
            await Refuse(StatusCodes.Status401Unauthorized, "bad-signature", "the signature does not verify for the key in the PeerId").ConfigureAwait(false);
            return;
        }
        long now = _server.Now;
        if (Math.Abs(now - registration.Timestamp) > (long)_server.Options.FreshnessWindow.TotalMilliseconds)
        {
            await Refuse(StatusCodes.Status401Unauthorized, "stale", $"timestamp is outside the freshness window of {_server.Options.FreshnessWindow.TotalSeconds:F0} s").ConfigureAwait(false);
            return;
        }
        if (_server.Store.IsBlocked(registration.PeerId))
        {
            await Refuse(StatusCodes.Status403Forbidden, "blocked", "this PeerId is blocked").ConfigureAwait(false);
            return;
        }
        var outcome = await _server.Store.UpsertAsync(registration, now, clientIp, http.RequestAborted).ConfigureAwait(false);
        if (outcome == RegistrationOutcome.Replayed)
        {
            await Refuse(StatusCodes.Status409Conflict, "replayed", "timestamp is not newer than the last accepted registration of this PeerId").ConfigureAwait(false);
            return;
        }
        _server.Meter.Add();
        await WriteAnswerAsync(http, "register", new BootstrapRegistrationAnswer
        {
            PeerId = registration.PeerId,
            Timestamp = registration.Timestamp,
            TtlSeconds = (int)_server.Options.PeerTtl.TotalSeconds,
            ObservedAddress = clientIp,
        }, BootstrapJsonContext.Default.BootstrapRegistrationAnswer).ConfigureAwait(false);
    }

    /// <summary>Checks every field against the protocol limits; returns what is wrong, or null.</summary>
    internal static string? Invalid(BootstrapRegistration registration) => Invalid(registration, out _);

    /// <summary>As <see cref="Invalid(BootstrapRegistration)"/>; also gives the parsed PeerId when the registration is valid.</summary>
    internal static string? Invalid(BootstrapRegistration registration, out PeerId? id)
    {
        id = null;
        // Null when the body omits it or says null (found by fuzzing: the JSON reader does not always keep the initializer).
        if (registration.PeerId is not { Length: > 0 and <= BootstrapLimits.MaxPeerIdLength } || !PeerId.TryParse(registration.PeerId, out var parsed))
            return "peerId is not a PeerId";
        if (!ValidNetwork(registration.Network)) return $"network must be 1..{BootstrapLimits.MaxNetworkLength} printable characters";
        if (registration.Addresses is null || registration.Addresses.Count is 0 or > BootstrapLimits.MaxAddresses)
            return $"addresses must hold 1..{BootstrapLimits.MaxAddresses} entries";
        foreach (string text in registration.Addresses)
        {
            if (text is null || text.Length > BootstrapLimits.MaxAddressLength || !Multiaddr.TryParse(text, out var address) || address.TcpTarget is null)
                return "every address must be a TCP multiaddr";
            if (address.PeerId is { } other && other != parsed) return "an address names another PeerId";
        }
        id = parsed;
        return null;
    }

    private static bool ValidNetwork(string? network) =>
        network is { Length: > 0 and <= BootstrapLimits.MaxNetworkLength } && !network.Any(char.IsControl);

    private async Task PeersAsync(HttpContext http)
    {
        var query = http.Request.Query;
        string? network = query["network"];
        string? peerId = query["peerId"];
        if (!ValidNetwork(network))
        {
            await WriteErrorAsync(http, StatusCodes.Status400BadRequest, "invalid", "network is required (1..64 printable characters)").ConfigureAwait(false);
            return;
        }
        if (peerId is { Length: > BootstrapLimits.MaxPeerIdLength })
        {
            await WriteErrorAsync(http, StatusCodes.Status400BadRequest, "invalid", "peerId is too long").ConfigureAwait(false);
            return;
        }
        int count = _server.Options.MaxPeersPerQuery;
        if (query["count"] is { Count: > 0 } countText)
        {
            if (!int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1)
            {
                await WriteErrorAsync(http, StatusCodes.Status400BadRequest, "invalid", "count must be a positive integer").ConfigureAwait(false);
                return;
            }
            count = Math.Min(count, _server.Options.MaxPeersPerQuery);
        }
        var peers = await _server.Store.SampleAsync(network!, peerId, count, _server.Cutoff, http.RequestAborted).ConfigureAwait(false);
        peers.RemoveAll(p => _server.Store.IsBlocked(p.PeerId));
        IReadOnlyList<BootstrapNetworkTask> tasks = _server.Mode == BootstrapMode.Authority
            ? [.. _server.Store.Blocked.OrderByDescending(b => b.Value).Take(BootstrapLimits.MaxTasksPerAnswer)
                .Select(b => new BootstrapNetworkTask { Kind = BootstrapNetworkTask.BlockIdentifier, Target = b.Key, IssuedAt = b.Value })]
            : [];
        await WriteAnswerAsync(http, "peers", new BootstrapPeersAnswer
        {
            Network = network!,
            Requester = peerId,
            Peers = peers,
            Tasks = tasks,
            IssuedAt = _server.Now,
        }, BootstrapJsonContext.Default.BootstrapPeersAnswer).ConfigureAwait(false);
    }

    private Task MyIpAsync(HttpContext http) =>
        WriteAnswerAsync(http, "ip", new BootstrapIpAnswer { Address = BootstrapServer.ClientIp(http)?.ToString() ?? "", IssuedAt = _server.Now },
            BootstrapJsonContext.Default.BootstrapIpAnswer);

    private Task IdentityAsync(HttpContext http) =>
        WriteAnswerAsync(http, "identity", new BootstrapIdentityAnswer
        {
            Mode = _server.Mode,
            PeerId = _server.AuthorityId?.ToString(),
            Version = typeof(BootstrapServer).Assembly.GetName().Version?.ToString(3),
            PeerTtlSeconds = (int)_server.Options.PeerTtl.TotalSeconds,
            IssuedAt = _server.Now,
        }, BootstrapJsonContext.Default.BootstrapIdentityAnswer);
}
