using P2PNet.Core;

namespace P2PNet.Security.Noise;

/// <summary>
/// Noise (<c>/noise</c>) as an <see cref="ISecurityTransport"/> for the upgrader: one static key for the local
/// identity, made once and reused by every handshake.
/// </summary>
public sealed class NoiseSecurity : ISecurityTransport, IDisposable
{
    private readonly NoiseStaticKey _key;

    /// <summary>Makes the static key for <paramref name="identity"/>.</summary>
    public NoiseSecurity(Identity identity) => _key = NoiseStaticKey.Create(identity);

    /// <inheritdoc />
    public string ProtocolId => NoiseHandshake.ProtocolId;

    /// <inheritdoc />
    public async Task<SecuredConnection> SecureOutboundAsync(Stream inner, PeerId? expectedRemote, CancellationToken cancellationToken = default)
    {
        var noise = await NoiseHandshake.SecureOutboundAsync(inner, _key, expectedRemote, cancellationToken).ConfigureAwait(false);
        return new SecuredConnection(noise, noise.RemotePeerId, noise.RemotePublicKey);
    }

    /// <inheritdoc />
    public async Task<SecuredConnection> SecureInboundAsync(Stream inner, CancellationToken cancellationToken = default)
    {
        var noise = await NoiseHandshake.SecureInboundAsync(inner, _key, cancellationToken).ConfigureAwait(false);
        return new SecuredConnection(noise, noise.RemotePeerId, noise.RemotePublicKey);
    }

    /// <summary>Releases the static key.</summary>
    public void Dispose() => _key.Dispose();
}
