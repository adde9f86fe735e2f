using P2PNet.Muxers.Yamux;

namespace P2PNet.Swarm;

public sealed partial class Connection
{
    /// <summary>Streams open on this connection now (both directions); a redundant connection closes at zero.</summary>
    internal int StreamCount => _upgraded.Muxer is YamuxSession session ? session.StreamCount : _handlers.Count;

    /// <summary>Writes the muxer sent from their caller instead of its write loop (yamux inline writes), for tests.</summary>
    internal long MuxerInlineWrites => _upgraded.Muxer is YamuxSession session ? session.InlineWrites : 0;
}
