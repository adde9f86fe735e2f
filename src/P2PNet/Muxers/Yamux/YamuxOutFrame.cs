namespace P2PNet.Muxers.Yamux;

/// <summary>
/// One queued outgoing frame. <see cref="Payload"/> (data frames only) is rented from the shared ArrayPool, holds
/// the body from offset <see cref="YamuxFrameHeader.Size"/> (room for the header, so a large frame is written
/// with one call and no extra copy), and is returned by the write loop once written or dropped. Stream frames carry their stream; a go-away carries none;
/// a default instance (no stream, type Data) is the write loop's wake-up doorbell.
/// </summary>
internal readonly record struct YamuxOutFrame(YamuxFrameHeader Header, byte[]? Payload, YamuxStream? Stream)
{
    /// <summary>True for the empty doorbell used to wake the write loop when a control frame was queued.</summary>
    public bool IsDoorbell => Stream is null && Header.Type == YamuxFrameType.Data;
}
