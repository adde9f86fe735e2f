using P2PNet.Core;

namespace P2PNet.Upgrade;

/// <summary>A connection after Noise and yamux: an authenticated remote and a stream muxer.</summary>
/// <param name="Muxer">The yamux session; disposing it closes the connection.</param>
/// <param name="RemotePeerId">The remote PeerId, proven by the Noise handshake.</param>
/// <param name="RemotePublicKey">The remote identity key.</param>
/// <param name="LocalAddress">Our address on this connection.</param>
/// <param name="RemoteAddress">The remote address on this connection.</param>
/// <param name="IsInitiator">True when we dialed.</param>
public sealed record UpgradedConnection(
    IStreamMuxer Muxer,
    PeerId RemotePeerId,
    PublicKey RemotePublicKey,
    Multiaddr LocalAddress,
    Multiaddr RemoteAddress,
    bool IsInitiator)
{
    /// <summary>The transport socket underneath, where there is one (for inspection only).</summary>
    public System.Net.Sockets.Socket? Socket { get; init; }
}
