using System.Buffers;
using System.Text.Json;

namespace P2PNet.Peers.Packets;

/// <summary>
/// Allocation-free frame writer for a channel's send loop: reuses one JSON scratch buffer and one
/// <see cref="Utf8JsonWriter"/>. Produces exactly the frames of <see cref="PacketCodec.Write"/>.
/// Not thread-safe: use one per writer loop.
/// </summary>
internal sealed class PacketWriter : IDisposable
{
    // A scratch grown by an unusually large packet is dropped rather than kept for the channel's lifetime.
    // Kept up to 1 MiB (the JSON limit) so that a stream of large messages does not regrow it per packet.
    private const int RetainedScratchCapacity = 1024 * 1024;

    private ArrayBufferWriter<byte> _scratch = new(256);
    private readonly Utf8JsonWriter _json;
    private bool _disposed;

    /// <summary>Creates a writer whose frames may not exceed <paramref name="maxFrameLength"/> bytes.</summary>
    public PacketWriter(int maxFrameLength = PacketCodec.MaxFrameLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFrameLength);
        MaxFrameLength = maxFrameLength;
        _json = new Utf8JsonWriter(_scratch, new JsonWriterOptions { SkipValidation = true });
    }

    /// <summary>The largest frame body this writer produces.</summary>
    public int MaxFrameLength { get; }

    /// <summary>
    /// Writes one complete frame for <paramref name="packet"/> to <paramref name="output"/> and returns the bytes
    /// written. Throws <see cref="PacketFormatException"/> when the packet breaks a limit.
    /// </summary>
    public int Write(IBufferWriter<byte> output, NetworkPacket packet)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(packet);
        ObjectDisposedException.ThrowIf(_disposed, this);
        PacketCodec.ValidateForWrite(packet);
        // A PureMessage's wire JSON is always "{}" (its text is the tail): no serializer call for the commonest packet.
        ReadOnlySpan<byte> json = packet.Type == PacketType.PureMessage ? PacketCodec.EmptyObject : Serialize(packet, packet.Type);
        ReadOnlySpan<byte> tail = PacketCodec.Tail(packet, out byte[]? rented);
        try
        {
            return PacketCodec.WriteFrame(output, (byte)packet.Type, json, tail, MaxFrameLength);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
            TrimScratch();
        }
    }

    /// <summary>
    /// Writes the channel hello frame and returns the bytes written. Throws <see cref="PacketFormatException"/>
    /// when the hello breaks a limit.
    /// </summary>
    public int WriteHello(IBufferWriter<byte> output, ChannelHello hello)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(hello);
        ObjectDisposedException.ThrowIf(_disposed, this);
        PacketCodec.Validate(hello);
        _scratch.ResetWrittenCount();
        _json.Reset(_scratch);
        JsonSerializer.Serialize(_json, hello, PacketJsonContext.Default.ChannelHello);
        _json.Flush();
        try
        {
            return PacketCodec.WriteFrame(output, PacketCodec.HelloFrameType, _scratch.WrittenSpan, default, MaxFrameLength);
        }
        finally
        {
            TrimScratch();
        }
    }

    /// <summary>Releases the JSON writer; idempotent.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _json.Dispose();
    }

    private ReadOnlySpan<byte> Serialize(NetworkPacket packet, PacketType type)
    {
        _scratch.ResetWrittenCount();
        _json.Reset(_scratch);
        JsonSerializer.Serialize(_json, packet, PacketCodec.WireTypeInfo(type));
        _json.Flush();
        return _scratch.WrittenSpan;
    }

    private void TrimScratch()
    {
        if (_scratch.Capacity > RetainedScratchCapacity) _scratch = new ArrayBufferWriter<byte>(256);
    }
}
