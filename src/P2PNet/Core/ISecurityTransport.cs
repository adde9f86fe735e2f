namespace P2PNet.Core;

/// <summary>
/// A security protocol the upgrader can negotiate (by multistream-select, under <see cref="ProtocolId"/>) on a
/// raw connection: it authenticates the remote peer and encrypts the stream. Noise is the default.
/// </summary>
public interface ISecurityTransport
{
    /// <summary>The multistream-select id of the protocol, e.g. <c>/noise</c>.</summary>
    string ProtocolId { get; }

    /// <summary>Secures a connection we dialed; fails when the remote does not prove <paramref name="expectedRemote"/>.</summary>
    Task<SecuredConnection> SecureOutboundAsync(Stream inner, PeerId? expectedRemote, CancellationToken cancellationToken = default);

    /// <summary>Secures a connection we accepted.</summary>
    Task<SecuredConnection> SecureInboundAsync(Stream inner, CancellationToken cancellationToken = default);
}
