using P2PNet.Muxers.Yamux;

namespace P2PNet.Swarm;

public sealed partial class Connection
{
    /// <summary>Streams open on this connection now (both directions); a redundant connection closes at zero.</summary>
    internal int StreamCount => _upgraded.Muxer is YamuxSession session ? session.StreamCount : _handlers.Count;
}
