using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>What a connection runs over, fixed once it is upgraded.</summary>
/// <param name="Transport">The transport name (<c>tcp</c>, <c>memory</c>, …).</param>
/// <param name="LocalAddress">Our address on this connection.</param>
/// <param name="RemoteAddress">The remote address on this connection (without <c>/p2p/</c>).</param>
/// <param name="Direction">Whether we dialed or accepted.</param>
/// <param name="SecurityProtocol">The negotiated security protocol id (e.g. <c>/noise</c>).</param>
/// <param name="MuxerProtocol">The negotiated muxer protocol id (e.g. <c>/yamux/1.0.0</c>).</param>
/// <param name="IsLimited">True on a limited (relayed) connection.</param>
public sealed record ConnectionInfo(
    string Transport,
    Multiaddr LocalAddress,
    Multiaddr RemoteAddress,
    ConnectionDirection Direction,
    string SecurityProtocol,
    string MuxerProtocol,
    bool IsLimited);
