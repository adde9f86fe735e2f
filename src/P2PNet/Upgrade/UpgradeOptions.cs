using P2PNet.Muxers.Yamux;

namespace P2PNet.Upgrade;

/// <summary>Settings for turning a raw connection into a secure, multiplexed one.</summary>
public sealed record UpgradeOptions
{
    /// <summary>
    /// Time allowed for the whole upgrade (multistream-select, Noise, multistream-select, yamux start).
    /// A peer that stalls or trickles its handshake is cut off after this. Default 10 s.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>yamux settings for every connection.</summary>
    public YamuxOptions Yamux { get; init; } = new();
}
