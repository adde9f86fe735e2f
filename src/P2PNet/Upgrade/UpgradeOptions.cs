using P2PNet.Muxers.Yamux;

namespace P2PNet.Upgrade;

/// <summary>Settings for turning a raw connection into a secure, multiplexed one.</summary>
public sealed record UpgradeOptions
{
    /// <summary>
    /// Time allowed for the whole upgrade (multistream-select, security, multistream-select, muxer start).
    /// A peer that stalls or trickles its handshake is cut off after this. Default 10 s.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Time an accepted connection has to send its first multistream-select message (the header and its
    /// security proposal, a few dozen bytes that every libp2p dialer sends at once). An idle or trickling
    /// socket is closed after this instead of holding a handshake slot for the whole
    /// <see cref="HandshakeTimeout"/>. Default 2 s.
    /// </summary>
    public TimeSpan FirstByteTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>yamux settings for every connection (used by the default muxer).</summary>
    public YamuxOptions Yamux { get; init; } = new();
}
