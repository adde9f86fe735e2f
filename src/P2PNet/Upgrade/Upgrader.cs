using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Negotiation;
using P2PNet.Security.Noise;

namespace P2PNet.Upgrade;

/// <summary>
/// Upgrades a raw connection over any duplex stream: multistream-select picks a security protocol from the
/// list given (Noise by default), its handshake proves the remote PeerId, then multistream-select picks a
/// muxer (yamux by default) and starts its session. The dialer proposes in list order; the listener takes the
/// first proposal it has. The whole upgrade runs under <see cref="UpgradeOptions.HandshakeTimeout"/>, and an
/// accepted connection must send its first message within <see cref="UpgradeOptions.FirstByteTimeout"/>; on any
/// failure the raw connection is closed.
/// </summary>
public sealed class Upgrader : IDisposable
{
    private readonly ISecurityTransport[] _security;
    private readonly IStreamMuxerFactory[] _muxers;
    private readonly string[] _securityIds;
    private readonly string[] _muxerIds;
    private readonly UpgradeOptions _options;
    private readonly NoiseSecurity? _owned;

    /// <summary>Creates an upgrader for the local identity with the defaults: Noise, then yamux.</summary>
    public Upgrader(Identity identity, UpgradeOptions? options = null, ILoggerFactory? loggerFactory = null)
        : this(identity, null, null, options, loggerFactory)
    {
    }

    /// <summary>
    /// Creates an upgrader that negotiates among <paramref name="security"/> and <paramref name="muxers"/>, in
    /// order of preference. A null or empty list means the default (Noise for <paramref name="identity"/>, made
    /// and owned here; yamux with <see cref="UpgradeOptions.Yamux"/>). Security transports passed in stay the
    /// caller's to dispose.
    /// </summary>
    public Upgrader(
        Identity identity,
        IReadOnlyList<ISecurityTransport>? security,
        IReadOnlyList<IStreamMuxerFactory>? muxers,
        UpgradeOptions? options = null,
        ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        _options = options ?? new UpgradeOptions();
        if (security is null || security.Count == 0)
        {
            var noise = new NoiseSecurity(identity);
            _owned = noise;
            _security = [noise];
        }
        else
        {
            _security = [.. security];
        }
        _muxers = muxers is null || muxers.Count == 0
            ? [new YamuxMuxerFactory(_options.Yamux, loggerFactory ?? NullLoggerFactory.Instance)]
            : [.. muxers];
        _securityIds = [.. _security.Select(s => s.ProtocolId)];
        _muxerIds = [.. _muxers.Select(m => m.ProtocolId)];
        if (_securityIds.Length > MultistreamSelect.MaxAttempts || _muxerIds.Length > MultistreamSelect.MaxAttempts)
            throw new ArgumentException($"at most {MultistreamSelect.MaxAttempts} security protocols and muxers");
    }

    /// <summary>The security protocol ids, in order of preference.</summary>
    public IReadOnlyList<string> SecurityProtocols => _securityIds;

    /// <summary>The muxer protocol ids, in order of preference.</summary>
    public IReadOnlyList<string> MuxerProtocols => _muxerIds;

    /// <summary>Upgrades a connection we dialed; <paramref name="expectedRemote"/> comes from the dialed <c>/p2p/</c>.</summary>
    public Task<UpgradedConnection> UpgradeOutboundAsync(TransportConnection raw, PeerId? expectedRemote, CancellationToken cancellationToken = default) =>
        UpgradeAsync(raw, isInitiator: true, expectedRemote, cancellationToken);

    /// <summary>Upgrades a connection we accepted.</summary>
    public Task<UpgradedConnection> UpgradeInboundAsync(TransportConnection raw, CancellationToken cancellationToken = default) =>
        UpgradeAsync(raw, isInitiator: false, null, cancellationToken);

    private async Task<UpgradedConnection> UpgradeAsync(TransportConnection raw, bool isInitiator, PeerId? expectedRemote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(raw);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HandshakeTimeout);
        var ct = timeout.Token;
        SecuredConnection? secured = null;
        bool firstMessageLate = false;
        try
        {
            string securityId;
            if (isInitiator)
            {
                securityId = await MultistreamSelect.SelectAsync(raw.Stream, _securityIds, ct).ConfigureAwait(false);
                secured = await Security(securityId).SecureOutboundAsync(raw.Stream, expectedRemote, ct).ConfigureAwait(false);
            }
            else
            {
                // The dialer's first message must come quickly: an idle socket may not hold a handshake slot
                // for the whole handshake timeout.
                using (var first = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    first.CancelAfter(_options.FirstByteTimeout);
                    try
                    {
                        securityId = await MultistreamSelect.ListenAsync(new HeaderCheckStream(raw.Stream), p => Array.IndexOf(_securityIds, p) >= 0, first.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (first.IsCancellationRequested && !ct.IsCancellationRequested)
                    {
                        firstMessageLate = true;
                        throw;
                    }
                }
                secured = await Security(securityId).SecureInboundAsync(raw.Stream, ct).ConfigureAwait(false);
            }

            string muxerId = isInitiator
                ? await MultistreamSelect.SelectAsync(secured.Stream, _muxerIds, ct).ConfigureAwait(false)
                : await MultistreamSelect.ListenAsync(secured.Stream, p => Array.IndexOf(_muxerIds, p) >= 0, ct).ConfigureAwait(false);
            var muxer = Array.Find(_muxers, m => m.ProtocolId == muxerId)!.Create(secured.Stream, isInitiator);
            return new UpgradedConnection(muxer, secured.RemotePeerId, secured.RemotePublicKey, raw.LocalAddress, raw.RemoteAddress, isInitiator)
            {
                Socket = raw.Socket,
                Transport = raw.Transport,
                SecurityProtocol = securityId,
                MuxerProtocol = muxerId,
                IsLimited = raw.IsLimited,
            };
        }
        catch (Exception ex)
        {
            if (secured is not null) await secured.Stream.DisposeAsync().ConfigureAwait(false);
            else await raw.Stream.DisposeAsync().ConfigureAwait(false);
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new UpgradeException(firstMessageLate
                    ? $"{raw.RemoteAddress} sent no handshake within {_options.FirstByteTimeout.TotalSeconds:0.#} s"
                    : $"handshake with {raw.RemoteAddress} timed out after {_options.HandshakeTimeout.TotalSeconds:0.#} s", ex);
            }
            throw;
        }
    }

    private ISecurityTransport Security(string id) => Array.Find(_security, s => s.ProtocolId == id)!;

    /// <summary>Releases the default Noise static key, when this upgrader made it.</summary>
    public void Dispose() => _owned?.Dispose();
}
