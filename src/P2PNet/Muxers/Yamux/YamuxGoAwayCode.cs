namespace P2PNet.Muxers.Yamux;

/// <summary>The go-away error codes carried in the length field.</summary>
internal enum YamuxGoAwayCode : uint
{
    Normal = 0,
    ProtocolError = 1,
    InternalError = 2,
}
