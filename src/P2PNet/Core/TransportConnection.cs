namespace P2PNet.Core;

/// <summary>A raw, not yet secured, transport connection: a byte stream and its two addresses.</summary>
/// <param name="Stream">The duplex byte stream; disposing it closes the connection.</param>
/// <param name="LocalAddress">Our side's address.</param>
/// <param name="RemoteAddress">The remote side's address as this transport sees it.</param>
public sealed record TransportConnection(Stream Stream, Multiaddr LocalAddress, Multiaddr RemoteAddress)
{
    /// <summary>The socket underneath, where the transport has one (for inspection only).</summary>
    public System.Net.Sockets.Socket? Socket { get; init; }
}
