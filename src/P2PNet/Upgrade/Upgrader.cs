using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Negotiation;
using P2PNet.Security.Noise;

namespace P2PNet.Upgrade;

/// <summary>
/// Upgrades a raw connection: multistream-select <c>/noise</c>, the Noise XX handshake (which proves the
/// remote PeerId), multistream-select <c>/yamux/1.0.0</c>, then a yamux session. The whole upgrade runs
/// under <see cref="UpgradeOptions.HandshakeTimeout"/>; on any failure the raw connection is closed.
/// </summary>
public sealed class Upgrader : IDisposable
{
    private static readonly string[] SecurityProtocols = [NoiseHandshake.ProtocolId];
    private static readonly string[] MuxerProtocols = [YamuxSession.ProtocolId];

    private readonly NoiseStaticKey _noiseKey;
    private readonly UpgradeOptions _options;
    private readonly ILoggerFactory _loggerFactory;

    /// <summary>Creates an upgrader for the local identity.</summary>
    public Upgrader(Identity identity, UpgradeOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        _noiseKey = NoiseStaticKey.Create(identity);
        _options = options ?? new UpgradeOptions();
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

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
        NoiseStream? secure = null;
        try
        {
            NoiseStream noise;
            if (isInitiator)
            {
                await MultistreamSelect.SelectAsync(raw.Stream, SecurityProtocols, ct).ConfigureAwait(false);
                noise = secure = await NoiseHandshake.SecureOutboundAsync(raw.Stream, _noiseKey, expectedRemote, ct).ConfigureAwait(false);
                await MultistreamSelect.SelectAsync(noise, MuxerProtocols, ct).ConfigureAwait(false);
            }
            else
            {
                await MultistreamSelect.ListenAsync(raw.Stream, static p => p == NoiseHandshake.ProtocolId, ct).ConfigureAwait(false);
                noise = secure = await NoiseHandshake.SecureInboundAsync(raw.Stream, _noiseKey, ct).ConfigureAwait(false);
                await MultistreamSelect.ListenAsync(noise, static p => p == YamuxSession.ProtocolId, ct).ConfigureAwait(false);
            }
            var session = new YamuxSession(noise, isInitiator, _options.Yamux, _loggerFactory.CreateLogger<YamuxSession>());
            return new UpgradedConnection(session, noise.RemotePeerId, noise.RemotePublicKey, raw.LocalAddress, raw.RemoteAddress, isInitiator) { Socket = raw.Socket };
        }
        catch (Exception ex)
        {
            if (secure is not null) await secure.DisposeAsync().ConfigureAwait(false);
            else await raw.Stream.DisposeAsync().ConfigureAwait(false);
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
                throw new UpgradeException($"handshake with {raw.RemoteAddress} timed out after {_options.HandshakeTimeout.TotalSeconds:0.#} s", ex);
            throw;
        }
    }

    /// <summary>Releases the Noise static key.</summary>
    public void Dispose() => _noiseKey.Dispose();
}
