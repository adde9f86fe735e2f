namespace P2PNet.Peers;

/// <summary>
/// A routine run on a freshly opened channel to decide whether the peer is a trusted member: it may
/// exchange packets, elevate or demote <see cref="PeerChannel.TrustLevel"/>, or close the channel.
/// </summary>
/// <param name="channel">The channel, open, not yet in ActivePeerChannels.</param>
/// <param name="cancellationToken">Cancelled when the trust protocol times out or the network stops (and, for an inbound channel, when its connection closes).</param>
public delegate Task PeerTrustProtocol(PeerChannel channel, CancellationToken cancellationToken);
