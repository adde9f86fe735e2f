using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;

namespace P2PNet.Peers.Bootstrap;

/// <summary>
/// A node's link to one bootstrap server over HTTP(S). <see cref="ConnectAsync"/> asks the server's identity
/// and mode (checked against <see cref="PeerNetworkTrustPolicy.Bootstrap"/> and the pinned authority),
/// registers the node (signed with its identity key), puts the returned peers in KnownPeers, connects to
/// some of them, and then heartbeats every <see cref="BootstrapChannelOptions.HeartbeatInterval"/>. In
/// authority mode every answer must be signed by the authority; its network tasks are applied.
/// </summary>
public sealed class BootstrapChannel : IAsyncDisposable
{
    private readonly PeerNetwork _network;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ILogger _logger;
    private readonly Uri _base;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _heartbeat;
    private long _lastTimestamp;
    private int _disposed;

    /// <summary>Creates the channel; nothing is sent until <see cref="ConnectAsync"/>.</summary>
    /// <param name="network">The node.</param>
    /// <param name="options">The server and settings.</param>
    /// <param name="httpClient">An HTTP client to use (not disposed); null creates one.</param>
    /// <param name="loggerFactory">Logging; null logs nothing.</param>
    public BootstrapChannel(PeerNetwork network, BootstrapChannelOptions options, HttpClient? httpClient = null, ILoggerFactory? loggerFactory = null)
    {
        _network = network ?? throw new ArgumentNullException(nameof(network));
        Options = options ?? throw new ArgumentNullException(nameof(options));
        string url = options.ServerUrl.ToString();
        _base = new Uri(url.EndsWith('/') ? url : url + "/");
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<BootstrapChannel>();
    }

    /// <summary>The settings.</summary>
    public BootstrapChannelOptions Options { get; }

    /// <summary>The server's mode, known after <see cref="ConnectAsync"/>.</summary>
    public BootstrapMode? ServerMode { get; private set; }

    /// <summary>The authority the server proved to be (authority mode), known after <see cref="ConnectAsync"/>.</summary>
    public PeerId? Authority { get; private set; }

    /// <summary>Our IP address as the server last saw it.</summary>
    public IPAddress? ObservedAddress { get; private set; }

    /// <summary>Heartbeats that succeeded.</summary>
    public int Heartbeats => Volatile.Read(ref _heartbeats);

    private int _heartbeats;

    /// <summary>Raised after each peer answer was applied, with the peers added to KnownPeers.</summary>
    public event EventHandler<IReadOnlyList<IPeer>>? PeersReceived;

    /// <summary>
    /// Checks the server, registers, fetches and connects peers, then starts the heartbeat.
    /// </summary>
    /// <exception cref="BootstrapException">The server is unreachable, refused, not allowed by the trust policy, or answered badly.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var identity = await GetIdentityAsync(cancellationToken).ConfigureAwait(false);
        await RegisterAsync(cancellationToken).ConfigureAwait(false);
        await RefreshPeersAsync(cancellationToken).ConfigureAwait(false);
        BootstrapLog.Connected(_logger, _base, identity.Mode, Authority?.ToString() ?? "none");
        _heartbeat ??= Task.Run(HeartbeatLoopAsync, CancellationToken.None);
    }

    /// <summary>Asks the server's identity and mode and checks them against the policy (locks them in for this channel).</summary>
    public async Task<BootstrapIdentityAnswer> GetIdentityAsync(CancellationToken cancellationToken = default)
    {
        var url = new Uri(_base, "v1/identity");
        var (payload, signer) = await GetEnvelopeAsync(HttpMethod.Get, url, null, "identity", cancellationToken).ConfigureAwait(false);
        var answer = Parse(payload, BootstrapJsonContext.Default.BootstrapIdentityAnswer);
        CheckFresh(answer.IssuedAt);
        var policy = _network.NetworkTrustPolicy.Bootstrap;
        policy.CheckMode(answer.Mode, _base);
        if (answer.Mode == BootstrapMode.Authority)
        {
            if (signer is null) throw new BootstrapException(BootstrapError.BadSignature, $"authority server {_base} sent an unsigned identity");
            if (answer.PeerId != signer.ToString())
                throw new BootstrapException(BootstrapError.AuthorityMismatch, $"server {_base} claims authority {answer.PeerId} but signed as {signer}");
            if (Options.PinnedAuthority is { } pinned && pinned != signer)
                throw new BootstrapException(BootstrapError.AuthorityMismatch, $"bootstrap server {_base} is authority {signer}, not the pinned {pinned}");
            if (Authority is { } known && known != signer)
                throw new BootstrapException(BootstrapError.AuthorityMismatch, $"bootstrap server {_base} changed authority from {known} to {signer}");
            policy.CheckAuthority(signer, _base);
            Authority = signer;
        }
        else if (Authority is not null)
        {
            throw new BootstrapException(BootstrapError.ModeNotAllowed, $"bootstrap server {_base} was authority {Authority} and is now trustless");
        }
        ServerMode = answer.Mode;
        return answer;
    }

    /// <summary>Registers (or refreshes) this node with its addresses, signed with its identity key.</summary>
    public async Task<BootstrapRegistrationAnswer> RegisterAsync(CancellationToken cancellationToken = default)
    {
        var addresses = await AdvertisedAddressesAsync(cancellationToken).ConfigureAwait(false);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long timestamp = Math.Max(now, Interlocked.Read(ref _lastTimestamp) + 1);
        Interlocked.Exchange(ref _lastTimestamp, timestamp);
        var registration = BootstrapSigning.Sign(new BootstrapRegistration
        {
            PeerId = _network.Identifier.ToString(),
            Addresses = [.. addresses.Select(a => a.ToString())],
            Network = _network.Options.NetworkName,
            Timestamp = timestamp,
        }, _network.Identity);
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(registration, BootstrapJsonContext.Default.BootstrapRegistration);
        var (payload, signer) = await GetEnvelopeAsync(HttpMethod.Post, new Uri(_base, "v1/register"), body, "register", cancellationToken).ConfigureAwait(false);
        CheckSigner(signer);
        var answer = Parse(payload, BootstrapJsonContext.Default.BootstrapRegistrationAnswer);
        if (answer.PeerId != registration.PeerId || answer.Timestamp != timestamp)
            throw new BootstrapException(BootstrapError.MalformedAnswer, $"server {_base} acknowledged a different registration");
        if (answer.ObservedAddress is not null && IPAddress.TryParse(answer.ObservedAddress, out var observed)) ObservedAddress = observed;
        BootstrapLog.Registered(_logger, _base, registration.Addresses.Count);
        return answer;
    }

    /// <summary>Asks for peers of our network; adds them to KnownPeers, applies authority tasks, auto-connects.</summary>
    /// <returns>The peers added to (or refreshed in) KnownPeers.</returns>
    public async Task<IReadOnlyList<IPeer>> RefreshPeersAsync(CancellationToken cancellationToken = default)
    {
        string me = _network.Identifier.ToString();
        var url = new Uri(_base, $"v1/peers?network={Uri.EscapeDataString(_network.Options.NetworkName)}&peerId={Uri.EscapeDataString(me)}&count={Options.MaxPeers}");
        var (payload, signer) = await GetEnvelopeAsync(HttpMethod.Get, url, null, "peers", cancellationToken).ConfigureAwait(false);
        CheckSigner(signer);
        var answer = Parse(payload, BootstrapJsonContext.Default.BootstrapPeersAnswer);
        CheckFresh(answer.IssuedAt);
        if (answer.Network != _network.Options.NetworkName || (answer.Requester is not null && answer.Requester != me))
            throw new BootstrapException(BootstrapError.MalformedAnswer, $"server {_base} answered for another network or requester");
        if (answer.Peers.Count > BootstrapLimits.MaxPeersPerAnswer || answer.Tasks.Count > BootstrapLimits.MaxTasksPerAnswer)
            throw new BootstrapException(BootstrapError.MalformedAnswer, $"server {_base} sent too many peers or tasks");
        if (Authority is not null) ApplyTasks(answer.Tasks);

        var added = new List<IPeer>();
        int fresh = 0;
        foreach (var record in answer.Peers)
        {
            if (!PeerId.TryParse(record.PeerId, out var id))
            {
                BootstrapLog.EntryIgnored(_logger, _base, "unparsable PeerId");
                continue;
            }
            var addresses = new List<Multiaddr>();
            foreach (string text in record.Addresses.Take(BootstrapLimits.MaxAddresses))
                if (text.Length <= BootstrapLimits.MaxAddressLength && Multiaddr.TryParse(text, out var address) && address.TcpTarget is not null) addresses.Add(address.WithoutPeerId());
            bool known = _network.IsKnown(id);
            if (_network.AddKnownPeer(id, addresses) is { } peer)
            {
                added.Add(peer);
                if (!known) fresh++;
            }
        }
        BootstrapLog.PeersReceived(_logger, _base, answer.Peers.Count, fresh);
        PeersReceived?.Invoke(this, added);
        await AutoConnectAsync(added, cancellationToken).ConfigureAwait(false);
        return added;
    }

    /// <summary>Our IP address as the server sees it.</summary>
    public async Task<IPAddress> GetMyIPAsync(CancellationToken cancellationToken = default)
    {
        var (payload, signer) = await GetEnvelopeAsync(HttpMethod.Get, new Uri(_base, "v1/my-ip"), null, "ip", cancellationToken).ConfigureAwait(false);
        CheckSigner(signer);
        var answer = Parse(payload, BootstrapJsonContext.Default.BootstrapIpAnswer);
        CheckFresh(answer.IssuedAt);
        if (!IPAddress.TryParse(answer.Address, out var address)) throw new BootstrapException(BootstrapError.MalformedAnswer, $"server {_base} sent a malformed IP");
        ObservedAddress = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return ObservedAddress;
    }

    /// <summary>Stops the heartbeat (the registration expires on the server after its TTL).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_heartbeat is not null)
        {
            try
            {
                await _heartbeat.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // stopping
            }
        }
        _stopping.Dispose();
        if (_ownsHttp) _http.Dispose();
    }

    private async Task HeartbeatLoopAsync()
    {
        using var timer = new PeriodicTimer(Options.HeartbeatInterval);
        while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
        {
            try
            {
                await RegisterAsync(_stopping.Token).ConfigureAwait(false);
                await RefreshPeersAsync(_stopping.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _heartbeats);
            }
            catch (Exception ex) when (!_stopping.IsCancellationRequested)
            {
                // Keep heartbeating: the server may be back next time.
                BootstrapLog.HeartbeatFailed(_logger, _base, ex.Message);
            }
        }
    }

    private async Task<List<Multiaddr>> AdvertisedAddressesAsync(CancellationToken cancellationToken)
    {
        var source = Options.AdvertisedAddresses ?? _network.ListenAddresses;
        var result = new List<Multiaddr>();
        foreach (var address in source.Take(BootstrapLimits.MaxAddresses))
        {
            var endPoint = address.ToIPEndPoint();
            if (endPoint is not null && (endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any)))
            {
                // A wildcard listen address is not dialable: advertise the address the server sees instead.
                var observed = ObservedAddress ?? await GetMyIPAsync(cancellationToken).ConfigureAwait(false);
                if ((observed.AddressFamily == AddressFamily.InterNetwork) != (endPoint.AddressFamily == AddressFamily.InterNetwork)) continue;
                result.Add(Multiaddr.FromEndPoint(new IPEndPoint(observed, endPoint.Port)));
            }
            else
            {
                result.Add(address.WithoutPeerId());
            }
        }
        return result;
    }

    private void ApplyTasks(IReadOnlyList<BootstrapNetworkTask> tasks)
    {
        foreach (var task in tasks)
        {
            if (task.Kind == BootstrapNetworkTask.BlockIdentifier && PeerId.TryParse(task.Target, out var target) && target != _network.Identifier)
            {
                if (_network.TrustPolicy.IsBlocked(target)) continue;
                _network.BlockPeer(target);
                BootstrapLog.TaskApplied(_logger, Authority!.ToString(), task.Kind, task.Target);
            }
        }
    }

    private async Task AutoConnectAsync(List<IPeer> peers, CancellationToken cancellationToken)
    {
        int open = _network.ActivePeerChannels.Count;
        if (Options.AutoConnectPeers <= open) return;
        var targets = peers.Where(p => _network.FindChannel(p.Identifier) is null).Take(Options.AutoConnectPeers - open);
        await Task.WhenAll(targets.Select(async peer =>
        {
            try
            {
                await _network.OpenPeerChannelAsync(peer, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is PeerNetworkException or P2PNetException or IOException or SocketException or TimeoutException)
            {
                BootstrapLog.AutoConnectFailed(_logger, peer.Identifier.ToString(), ex.Message);
            }
        })).ConfigureAwait(false);
    }

    private void CheckSigner(PeerId? signer)
    {
        if (Authority is null) return;
        if (signer is null) throw new BootstrapException(BootstrapError.BadSignature, $"authority server {_base} sent an unsigned answer");
        if (signer != Authority)
            throw new BootstrapException(BootstrapError.AuthorityMismatch, $"answer from {_base} is signed by {signer}, not by authority {Authority}");
    }

    private void CheckFresh(long issuedAt)
    {
        var age = DateTimeOffset.UtcNow - DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(issuedAt, 0, 253402300799999));
        if (age.Duration() > Options.AnswerMaxAge)
            throw new BootstrapException(BootstrapError.MalformedAnswer, $"answer from {_base} is stale (issued {age.TotalSeconds:F0} s from now)");
    }

    private static T Parse<T>(byte[] payload, JsonTypeInfo<T> type)
    {
        try
        {
            return JsonSerializer.Deserialize(payload, type) ?? throw new BootstrapException(BootstrapError.MalformedAnswer, "empty answer payload");
        }
        catch (JsonException ex)
        {
            throw new BootstrapException(BootstrapError.MalformedAnswer, $"malformed answer payload: {ex.Message}", ex);
        }
    }

    private async Task<(byte[] Payload, PeerId? Signer)> GetEnvelopeAsync(HttpMethod method, Uri url, byte[]? body, string kind, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        timeout.CancelAfter(Options.RequestTimeout);
        using var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new BootstrapException(BootstrapError.Unreachable, $"bootstrap server {_base} is unreachable: {ex.Message}", ex);
        }
        using (response)
        {
            await BootstrapAnswers.ThrowIfFailedAsync(response, url, timeout.Token).ConfigureAwait(false);
            byte[] answer = await BootstrapAnswers.ReadBoundedAsync(response.Content, BootstrapLimits.MaxAnswerBytes, timeout.Token).ConfigureAwait(false);
            return BootstrapAnswers.Open(answer, kind);
        }
    }
}
