using System.Net;
using System.Net.Sockets;
using P2PNet.Core;

namespace P2PNet.Peers;

/// <summary>
/// A peer of the network: its IP address and port, the TCP client and network stream it is reached
/// through, and its unique <see cref="Identifier"/>, the PeerId proven by its key, which block and allow
/// lists use.
/// </summary>
public interface IPeer
{
    /// <summary>The peer's IP address (of its connection, or of its first known address).</summary>
    IPAddress IP { get; }

    /// <summary>The peer's TCP port.</summary>
    int Port { get; }

    /// <summary>
    /// The TCP client of the live connection, or null when not connected. For inspection only: the
    /// connection is Noise-encrypted and owned by the network, so never read, write or dispose it.
    /// </summary>
    TcpClient? Client { get; }

    /// <summary>
    /// The peer's network stream: the encrypted channel stream of its live <see cref="PeerChannel"/>, or
    /// null when not connected. Send through <see cref="PeerChannel.SendAsync"/>; writing here directly
    /// corrupts the channel's framing.
    /// </summary>
    Stream? Stream { get; }

    /// <summary>The peer's unique identifier: its PeerId, bound to its Ed25519 key.</summary>
    PeerId Identifier { get; }

    /// <summary>The addresses the peer can be dialed at (listen addresses it announced).</summary>
    IReadOnlyList<Multiaddr> Addresses { get; }

    /// <summary>The name the peer gave itself, if any.</summary>
    string? DisplayName { get; }
}
