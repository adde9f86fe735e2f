namespace P2PNet.Muxers.Yamux;

/// <summary>The yamux frame types (header byte 1).</summary>
internal enum YamuxFrameType : byte
{
    Data = 0,
    WindowUpdate = 1,
    Ping = 2,
    GoAway = 3,
}
