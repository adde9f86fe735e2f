using System.Buffers;
using System.Text;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using static P2PNet.Tests.Peers.PeerTestNetwork;

namespace P2PNet.Tests.Peers;

/// <summary>
/// PureMessage keeps its UTF-8 bytes: a received message becomes a string only when Message is read, binary users
/// send and receive the bytes (Utf8), and the string API (Message, Action&lt;string&gt; handlers) behaves as before.
/// </summary>
public sealed class PureMessageBytesTests
{
    private static PureMessagePacket RoundTrip(PureMessagePacket packet)
    {
        var output = new ArrayBufferWriter<byte>();
        using (var writer = new PacketWriter()) writer.Write(output, packet);
        var sequence = new ReadOnlySequence<byte>(output.WrittenMemory);
        Assert.True(PacketCodec.TryRead(ref sequence, out NetworkPacket? read));
        Assert.True(sequence.IsEmpty);
        return Assert.IsType<PureMessagePacket>(read);
    }

    [Fact]
    public void A_received_message_is_kept_as_bytes_until_its_text_is_read()
    {
        string text = "héllo \u2603 \U0001F30D " + new string('x', 64 * 1024);
        var received = RoundTrip(new PureMessagePacket(text));

        Assert.True(received.IsUtf8Only); // no string made by the codec
        Assert.Equal(Encoding.UTF8.GetBytes(text), received.Utf8.ToArray());
        Assert.True(received.IsUtf8Only); // reading the bytes makes no string either
        Assert.Equal(text, received.Message);
        Assert.False(received.IsUtf8Only);
        Assert.Same(received.Message, received.Message); // made once, then kept
    }

    [Fact]
    public void Bytes_sent_as_bytes_arrive_as_the_same_bytes_and_the_same_text()
    {
        byte[] utf8 = Encoding.UTF8.GetBytes("binary \u00e9\u4e2d \U0001F600");
        var packet = new PureMessagePacket(utf8.AsMemory());
        Assert.Equal("binary \u00e9\u4e2d \U0001F600", packet.Message);

        var received = RoundTrip(packet);
        Assert.Equal(utf8, received.Utf8.ToArray());
        Assert.Equal("binary \u00e9\u4e2d \U0001F600", received.Message);
        // The JSON form given to replaced handlers carries the text.
        Assert.Equal("binary \u00e9\u4e2d \U0001F600", PacketCodec.FromJson<PureMessagePacket>(PacketCodec.ToJson(received)).Message);
        Assert.Equal(0, RoundTrip(new PureMessagePacket(ReadOnlyMemory<byte>.Empty)).Utf8.Length);
    }

    [Fact]
    public void Setting_the_text_or_the_bytes_replaces_the_other()
    {
        var packet = new PureMessagePacket("first");
        Assert.Equal("first"u8.ToArray(), packet.Utf8.ToArray());
        packet.Utf8 = "second"u8.ToArray();
        Assert.Equal("second", packet.Message);
        packet.Message = "third";
        Assert.Equal("third"u8.ToArray(), packet.Utf8.ToArray());
        Assert.Equal("third", RoundTrip(packet).Message);
    }

    [Fact]
    public void Bytes_that_are_not_UTF8_or_too_long_are_refused_on_send()
    {
        Assert.Equal(PacketFormatError.Malformed,
            Assert.Throws<PacketFormatException>(() => PacketCodec.Validate(new PureMessagePacket(new byte[] { 0x61, 0xC3 }.AsMemory()))).Error);
        Assert.Equal(PacketFormatError.Malformed,
            Assert.Throws<PacketFormatException>(() => PacketCodec.Validate(new PureMessagePacket(new byte[] { 0xED, 0xA0, 0x80 }.AsMemory()))).Error); // a UTF-8 encoded surrogate
        var tooLong = new byte[PacketCodec.MaxMessageLength + 1];
        tooLong.AsSpan().Fill((byte)'m');
        Assert.Equal(PacketFormatError.LimitExceeded,
            Assert.Throws<PacketFormatException>(() => PacketCodec.Validate(new PureMessagePacket(tooLong.AsMemory()))).Error);
        // Counted in characters, as the text: MaxLength two-byte characters are within the limit.
        var wide = Encoding.UTF8.GetBytes(new string('\u00e9', PacketCodec.MaxMessageLength));
        PacketCodec.Validate(new PureMessagePacket(wide.AsMemory()));
        Assert.Equal(PacketCodec.MaxMessageLength, RoundTrip(new PureMessagePacket(wide.AsMemory())).Message.Length);
    }

    [Fact]
    public void A_long_message_is_logged_by_a_short_preview_without_decoding_it_all()
    {
        var received = RoundTrip(new PureMessagePacket(new string('\u00e9', 1000)));
        string preview = received.Preview(200);
        Assert.Equal(new string('\u00e9', 200) + "…", preview);
        Assert.True(received.IsUtf8Only);
        Assert.Equal("short", RoundTrip(new PureMessagePacket("short")).Preview(200));
        // A surrogate pair across the cut is left out whole.
        Assert.Equal(new string('a', 199) + "…", RoundTrip(new PureMessagePacket(new string('a', 199) + "\U0001F600" + "tail")).Preview(200));
    }

    [Fact]
    public async Task A_channel_carries_bytes_and_text_to_MessageReceived_and_to_a_replaced_handler()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var (outbound, _) = await ConnectBothEndsAsync(a, b);
        byte[] utf8 = Encoding.UTF8.GetBytes("bytes \u2603 " + new string('z', 70_000));

        var received = Next<PureMessageReceivedEventArgs>(h => b.MessageReceived += h);
        await outbound.SendAsync(new PureMessagePacket(utf8.AsMemory()));
        var e = await received;
        Assert.True(e.Packet.IsUtf8Only); // nobody has asked for the string yet
        Assert.Equal(utf8, e.Utf8.ToArray());
        Assert.Equal("bytes \u2603 " + new string('z', 70_000), e.Message);

        // A text message still reaches a replaced Action<string> handler as its JSON form.
        var json = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.PacketHandleProtocol.HandlePureMessagePacketAction = j => json.TrySetResult(j);
        await outbound.SendAsync(new PureMessagePacket("as \"text\""));
        Assert.Equal("as \"text\"", PacketCodec.FromJson<PureMessagePacket>(await json.Task.WaitAsync(Wait)).Message);
    }
}
