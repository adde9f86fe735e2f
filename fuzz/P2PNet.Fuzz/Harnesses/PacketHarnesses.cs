using System.Buffers;
using P2PNet.Peers.Packets;
using P2PNet.Wire;

namespace P2PNet.Fuzz.Harnesses;

/// <summary>The channel's packet frames and its hello, as <see cref="PacketCodec"/> reads them from a pipe.</summary>
internal static class PacketHarnesses
{
    // input[0] sets the segment size; the rest is the wire. Frames are read until one is incomplete.
    public static Task PacketAsync(byte[] input)
    {
        if (input.Length == 0) return Task.CompletedTask;
        var buffer = Segments.Split(input[1..], 1 + input[0] * 3);
        try
        {
            while (PacketCodec.TryReadFrame(ref buffer, out var hello, out var packet))
            {
                // A packet we accepted must be one we can forward (handlers get its JSON form; peers its frame).
                var output = new ArrayBufferWriter<byte>();
                if (packet is not null)
                {
                    PacketCodec.Write(output, packet);
                    PacketCodec.FromJson(PacketCodec.ToJson(packet));
                }
                else
                {
                    PacketCodec.WriteHello(output, hello!);
                }
                var again = new ReadOnlySequence<byte>(output.WrittenMemory);
                FuzzFailureException.Check(PacketCodec.TryReadFrame(ref again, out _, out _) && again.IsEmpty, "re-encoded frame does not read back");
            }
        }
        catch (PacketFormatException)
        {
        }
        // The channel's reader (acknowledgement frames allowed) over the same wire, once whole, where the fast path reads a
        // small PureMessage or an acknowledgement straight from the first span, and once in 1-byte segments, where only the
        // general path can: both must read the same frames and fail the same way.
        byte[] wire = input[1..];
        string whole = ReadChannel(new ReadOnlySequence<byte>(wire));
        string bytewise = ReadChannel(Segments.Split(wire, 1));
        FuzzFailureException.Check(whole == bytewise, $"the fast and the general path disagree: {whole} / {bytewise}");
        return Task.CompletedTask;
    }

    // What TryReadChannelFrame makes of the buffer: each frame re-encoded, then the bytes left or the error's kind.
    private static string ReadChannel(ReadOnlySequence<byte> buffer)
    {
        var read = new System.Text.StringBuilder();
        try
        {
            while (PacketCodec.TryReadChannelFrame(ref buffer, out var hello, out var packet, out long ack))
            {
                var output = new ArrayBufferWriter<byte>();
                if (ack >= 0) read.Append("ack ").Append(ack);
                else if (packet is not null) PacketCodec.Write(output, packet);
                else PacketCodec.WriteHello(output, hello!);
                read.Append(Convert.ToHexString(output.WrittenSpan)).Append(';');
            }
            return read.Append("rest ").Append(buffer.Length).ToString();
        }
        catch (PacketFormatException ex)
        {
            return read.Append("error ").Append(ex.Error).ToString();
        }
    }

    // The input is the hello's JSON; the harness frames it, so every mutation reaches the JSON reader and Validate.
    public static Task ChannelHelloAsync(byte[] input)
    {
        if (input.Length > PacketCodec.MaxJsonLength) return Task.CompletedTask;
        int bodyLength = 1 + Varint.SizeOf((ulong)input.Length) + input.Length;
        byte[] frame = new byte[Varint.SizeOf((ulong)bodyLength) + bodyLength];
        int n = Varint.Write(frame, (ulong)bodyLength);
        frame[n++] = PacketCodec.HelloFrameType;
        n += Varint.Write(frame.AsSpan(n), (ulong)input.Length);
        input.CopyTo(frame, n);
        var buffer = new ReadOnlySequence<byte>(frame);
        try
        {
            FuzzFailureException.Check(PacketCodec.TryReadFrame(ref buffer, out var hello, out _), "a whole hello frame reads as incomplete");
            var output = new ArrayBufferWriter<byte>();
            PacketCodec.WriteHello(output, hello!);
        }
        catch (PacketFormatException)
        {
        }
        return Task.CompletedTask;
    }
}
