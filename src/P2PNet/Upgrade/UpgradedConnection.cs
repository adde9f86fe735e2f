using P2PNet.Core;

namespace P2PNet.Upgrade;

/// <summary>A connection after security and muxer negotiation: an authenticated remote and a stream muxer.</summary>
/// <param name="Muxer">The muxer session; disposing it closes the connection.</param>
/// <param name="RemotePeerId">The remote PeerId, proven by the security handshake.</param>
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

    /// <summary>The name of the transport underneath (<see cref="TransportConnection.Transport"/>).</summary>
    public string Transport { get; init; } = "unknown";

    /// <summary>The negotiated security protocol id (e.g. <c>/noise</c>).</summary>
    public string SecurityProtocol { get; init; } = "";

    /// <summary>The negotiated muxer protocol id (e.g. <c>/yamux/1.0.0</c>).</summary>
    public string MuxerProtocol { get; init; } = "";

    /// <summary>True when the transport connection is limited (a relayed circuit).</summary>
    public bool IsLimited { get; init; }
}
