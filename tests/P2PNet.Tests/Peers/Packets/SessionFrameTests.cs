using System.Buffers;
using P2PNet.Peers.Packets;

namespace P2PNet.Tests.Peers.Packets;

/// <summary>The session parts of the wire format: the acknowledgement frame and the hello's session fields (docs/protocol.md).</summary>
public sealed class SessionFrameTests
{
    [Theory]
    [InlineData(0L, "03-06-00-00")]
    [InlineData(1L, "03-06-00-01")]
    [InlineData(300L, "04-06-00-AC-02")]
    [InlineData(long.MaxValue, "0B-06-00-FF-FF-FF-FF-FF-FF-FF-FF-7F")]
    public void An_acknowledgement_is_a_frame_of_type_6_with_no_JSON_and_one_uvarint(long received, string hex)
    {
        var frame = new ArrayBufferWriter<byte>();
        PacketCodec.WriteAck(frame, received);
        Assert.Equal(hex, BitConverter.ToString(frame.WrittenSpan.ToArray()));
        var buffer = new ReadOnlySequence<byte>(frame.WrittenMemory);
        Assert.True(PacketCodec.TryReadChannelFrame(ref buffer, out var hello, out var packet, out long ack));
        Assert.Equal(received, ack);
        Assert.Null(hello);
        Assert.Null(packet);
        Assert.True(buffer.IsEmpty);

        // A reader that knows no acknowledgements sees an unknown frame type, as earlier versions do.
        buffer = new ReadOnlySequence<byte>(frame.WrittenMemory);
        Assert.Equal(PacketFormatError.UnknownType, Assert.Throws<PacketFormatException>(() => PacketCodec.TryReadFrame(ref buffer, out _, out _)).Error);
    }

    [Theory]
    [InlineData("03-06-01-00")]          // JSON where none belongs
    [InlineData("04-06-00-01-00")]       // bytes after the uvarint
    [InlineData("04-06-00-80-00")]       // a non-minimal uvarint
    [InlineData("02-06-00")]             // no uvarint
    [InlineData("0B-06-00-FF-FF-FF-FF-FF-FF-FF-FF-FF")] // beyond 2^63 - 1 (and not a valid 9-byte uvarint)
    public void A_malformed_acknowledgement_is_a_format_error(string hex)
    {
        var bytes = Convert.FromHexString(hex.Replace("-", "", StringComparison.Ordinal));
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.Throws<PacketFormatException>(() => PacketCodec.TryReadChannelFrame(ref buffer, out _, out _, out _));
    }

    [Fact]
    public void The_hello_carries_the_session_and_the_count_received_and_omits_them_when_absent()
    {
        var hello = new ChannelHello("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA") { Session = "00112233445566778899AABBCCDDEEFF", Received = 42 };
        var frame = new ArrayBufferWriter<byte>();
        PacketCodec.WriteHello(frame, hello);
        Assert.Contains("\"session\":\"00112233445566778899AABBCCDDEEFF\",\"received\":42", System.Text.Encoding.UTF8.GetString(frame.WrittenSpan), StringComparison.Ordinal);
        var buffer = new ReadOnlySequence<byte>(frame.WrittenMemory);
        Assert.True(PacketCodec.TryReadFrame(ref buffer, out var read, out _));
        Assert.Equal("00112233445566778899AABBCCDDEEFF", read!.Session);
        Assert.Equal(42, read.Received);

        var plain = new ArrayBufferWriter<byte>();
        PacketCodec.WriteHello(plain, new ChannelHello("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"));
        string json = System.Text.Encoding.UTF8.GetString(plain.WrittenSpan);
        Assert.DoesNotContain("session", json, StringComparison.Ordinal);
        Assert.DoesNotContain("received", json, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hello_with_a_bad_session_is_refused()
    {
        const string Id = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
        Assert.Throws<PacketFormatException>(() => PacketCodec.Validate(new ChannelHello(Id) { Session = new string('a', 65) }));
        Assert.Throws<PacketFormatException>(() => PacketCodec.Validate(new ChannelHello(Id) { Session = "" }));
        Assert.Throws<PacketFormatException>(() => PacketCodec.Validate(new ChannelHello(Id) { Session = "s", Received = -1 }));
        Assert.Throws<PacketFormatException>(() => PacketCodec.Validate(new ChannelHello(Id) { Received = 1 })); // received without session
    }
}
