namespace P2PNet.Core;

/// <summary>A raw, not yet secured, transport connection: a byte stream and its two addresses.</summary>
/// <param name="Stream">The duplex byte stream; disposing it closes the connection.</param>
/// <param name="LocalAddress">Our side's address.</param>
/// <param name="RemoteAddress">The remote side's address as this transport sees it.</param>
public sealed record TransportConnection(Stream Stream, Multiaddr LocalAddress, Multiaddr RemoteAddress)
{
    /// <summary>The socket underneath, where the transport has one (for inspection only).</summary>
    public System.Net.Sockets.Socket? Socket { get; init; }

    /// <summary>The name of the transport that made this connection (<c>tcp</c>, <c>memory</c>, …).</summary>
    public string Transport { get; init; } = "unknown";

    /// <summary>
    /// True when the connection is limited in time or data (a relayed circuit): hosts open only streams that
    /// accept such connections on it.
    /// </summary>
    public bool IsLimited { get; init; }
}
