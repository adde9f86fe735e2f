namespace P2PNet.Muxers.Yamux;

/// <summary>The yamux header flags (16 bits, big endian).</summary>
[Flags]
internal enum YamuxFlags : ushort
{
    None = 0,
    Syn = 1,
    Ack = 2,
    Fin = 4,
    Rst = 8,
}
