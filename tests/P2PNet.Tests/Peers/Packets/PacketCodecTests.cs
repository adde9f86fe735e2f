using System.Buffers;
using System.Text;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Wire;

namespace P2PNet.Tests.Peers.Packets;

public sealed class PacketCodecTests
{
    private const string PeerA = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

    private static IEnumerable<NetworkPacket> Samples()
    {
        yield return new IdentityPacket(PeerA, ["/ip4/127.0.0.1/tcp/4001", "/ip6/::1/tcp/4001"], "alice")
        {
            NetworkName = "test-net",
            AgentVersion = "p2pnet/0.1",
        };
        yield return new IdentityPacket(PeerA);
        yield return new DisconnectPacket("shutting down");
        yield return new DisconnectPacket();
        yield return new CollectionSharePacket([new PeerRecord(PeerA, ["/ip4/10.0.0.1/tcp/1"]), new PeerRecord("QmOther")]);
        yield return new CollectionSharePacket();
        yield return new DataTransmissionPacket([1, 2, 3, 0, 255], DataPayloadFormat.File, "a.bin", "application/octet-stream");
        yield return new DataTransmissionPacket([]);
        yield return new DataTransmissionPacket(RandomBytes(64 * 1024, 1), DataPayloadFormat.Task);
        yield return new PureMessagePacket("hi");
        yield return new PureMessagePacket("héllo \"quoted\" \u2603 \U0001F30D \0 \n line");
        yield return new PureMessagePacket("");
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static byte[] Frame(NetworkPacket packet)
    {
        var output = new ArrayBufferWriter<byte>();
        int written = PacketCodec.Write(output, packet);
        Assert.Equal(output.WrittenCount, written);
        return output.WrittenSpan.ToArray();
    }

    private static NetworkPacket ReadOne(ReadOnlySequence<byte> sequence, int maxFrameLength = PacketCodec.MaxFrameLength)
    {
        Assert.True(PacketCodec.TryRead(ref sequence, out NetworkPacket? packet, maxFrameLength));
        Assert.True(sequence.IsEmpty);
        return Assert.IsAssignableFrom<NetworkPacket>(packet);
    }

    /// <summary>A raw frame: uvarint(body) | type | uvarint(json) | json | tail.</summary>
    private static byte[] RawFrame(byte type, string json, byte[]? tail = null)
    {
        byte[] jsonBytes = Encoding.UTF8.GetBytes(json);
        tail ??= [];
        int body = 1 + Varint.SizeOf((ulong)jsonBytes.Length) + jsonBytes.Length + tail.Length;
        byte[] frame = new byte[Varint.SizeOf((ulong)body) + body];
        int n = Varint.Write(frame, (ulong)body);
        frame[n++] = type;
        n += Varint.Write(frame.AsSpan(n), (ulong)jsonBytes.Length);
        jsonBytes.CopyTo(frame, n);
        tail.CopyTo(frame, n + jsonBytes.Length);
        return frame;
    }

    private static PacketFormatError ReadError(byte[] frame, int maxFrameLength = PacketCodec.MaxFrameLength)
    {
        var sequence = new ReadOnlySequence<byte>(frame);
        var e = Assert.Throws<PacketFormatException>(() => PacketCodec.TryRead(ref sequence, out _, maxFrameLength));
        return e.Error;
    }

    // Same JSON form means same packet: ToJson covers every property, data included.
    private static void AssertSame(NetworkPacket expected, NetworkPacket actual)
    {
        Assert.Equal(expected.GetType(), actual.GetType());
        Assert.Equal(PacketCodec.ToJson(expected), PacketCodec.ToJson(actual));
    }

    [Fact]
    public void Every_packet_type_round_trips_through_a_frame()
    {
        foreach (NetworkPacket packet in Samples())
        {
            byte[] frame = Frame(packet);
            AssertSame(packet, ReadOne(new ReadOnlySequence<byte>(frame)));
            foreach (int segment in new[] { 1, 2, 3, 7, 100 })
                AssertSame(packet, ReadOne(Segmented.Split(frame, segment)));
        }
    }

    [Fact]
    public void PacketWriter_produces_the_same_frames_as_the_static_codec()
    {
        using var writer = new PacketWriter();
        foreach (NetworkPacket packet in Samples())
        {
            var output = new ArrayBufferWriter<byte>();
            writer.Write(output, packet);
            Assert.Equal(Frame(packet), output.WrittenSpan.ToArray());
        }
        var a = new ArrayBufferWriter<byte>();
        var b = new ArrayBufferWriter<byte>();
        var hello = new ChannelHello(PeerA, ["/ip4/1.2.3.4/tcp/5"], "net", "p2pnet/0.1");
        writer.WriteHello(a, hello);
        PacketCodec.WriteHello(b, hello);
        Assert.Equal(b.WrittenSpan.ToArray(), a.WrittenSpan.ToArray());
    }

    [Fact]
    public void A_one_MiB_payload_travels_raw_in_the_tail()
    {
        byte[] payload = RandomBytes(1024 * 1024, 7);
        var packet = new DataTransmissionPacket(payload, DataPayloadFormat.File, "big.bin");
        byte[] frame = Frame(packet);
        // Raw, not base64: the frame is the payload plus a small header.
        Assert.InRange(frame.Length, payload.Length, payload.Length + 100);
        Assert.DoesNotContain("\"data\"", Encoding.UTF8.GetString(frame, 0, 80), StringComparison.Ordinal);

        var read = Assert.IsType<DataTransmissionPacket>(ReadOne(Segmented.Split(frame, 4096)));
        Assert.Equal(payload, read.Data);
        Assert.Equal(DataPayloadFormat.File, read.DataType);
        Assert.Equal("big.bin", read.Name);
    }

    [Fact]
    public void Consecutive_frames_are_read_one_at_a_time()
    {
        var output = new ArrayBufferWriter<byte>();
        NetworkPacket[] packets = [.. Samples()];
        foreach (NetworkPacket p in packets) PacketCodec.Write(output, p);
        ReadOnlySequence<byte> sequence = Segmented.Split(output.WrittenSpan.ToArray(), 13);
        foreach (NetworkPacket expected in packets)
        {
            Assert.True(PacketCodec.TryRead(ref sequence, out NetworkPacket? packet));
            AssertSame(expected, packet!);
        }
        Assert.True(sequence.IsEmpty);
        Assert.False(PacketCodec.TryRead(ref sequence, out _));
    }

    [Fact]
    public void Partial_frames_return_false_and_leave_the_buffer_alone()
    {
        foreach (NetworkPacket packet in Samples())
        {
            byte[] frame = Frame(packet);
            foreach (int length in new[] { 0, 1, 2, frame.Length / 2, frame.Length - 1 })
            {
                ReadOnlySequence<byte> sequence = Segmented.Split(frame[..length], 3);
                Assert.False(PacketCodec.TryRead(ref sequence, out NetworkPacket? read));
                Assert.Null(read);
                Assert.Equal(length, sequence.Length);
            }
        }
    }

    [Fact]
    public void Hello_frames_round_trip_and_are_refused_where_only_packets_belong()
    {
        var hello = new ChannelHello(PeerA, ["/ip4/127.0.0.1/tcp/1"], "test-net", "p2pnet/0.1");
        var output = new ArrayBufferWriter<byte>();
        PacketCodec.WriteHello(output, hello);
        PacketCodec.Write(output, new PureMessagePacket("after"));
        byte[] bytes = output.WrittenSpan.ToArray();
        Assert.True(Varint.TryRead(bytes, out _, out int prefix));
        Assert.Equal(PacketCodec.HelloFrameType, bytes[prefix]);
        Assert.Contains("\"networkName\":\"test-net\"", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);

        ReadOnlySequence<byte> sequence = Segmented.Split(bytes, 5);
        Assert.True(PacketCodec.TryReadFrame(ref sequence, out ChannelHello? readHello, out NetworkPacket? none));
        Assert.Null(none);
        Assert.Equal(PeerA, readHello!.Identifier);
        Assert.Equal(hello.Addresses, readHello.Addresses);
        Assert.Equal("test-net", readHello.NetworkName);
        Assert.Equal("p2pnet/0.1", readHello.AgentVersion);
        Assert.True(PacketCodec.TryReadFrame(ref sequence, out readHello, out NetworkPacket? packet));
        Assert.Null(readHello);
        Assert.Equal("after", Assert.IsType<PureMessagePacket>(packet).Message);

        Assert.Equal(PacketFormatError.UnexpectedHello, ReadError(bytes));
        Assert.Equal(PacketFormatError.UnexpectedTail, ReadError(RawFrame(0, $"{{\"identifier\":\"{PeerA}\",\"addresses\":[]}}", [1])));
    }

    [Fact]
    public void Oversized_length_with_no_body_is_refused_at_once()
    {
        byte[] prefix = new byte[Varint.MaxLength];
        int n = Varint.Write(prefix, PacketCodec.MaxFrameLength + 1UL);
        Assert.Equal(PacketFormatError.FrameTooLarge, ReadError(prefix[..n]));

        n = Varint.Write(prefix, 1000);
        Assert.Equal(PacketFormatError.FrameTooLarge, ReadError(prefix[..n], maxFrameLength: 999));

        n = Varint.Write(prefix, long.MaxValue);
        Assert.Equal(PacketFormatError.FrameTooLarge, ReadError(prefix[..n]));

        // Over-long varint.
        Assert.Equal(PacketFormatError.Malformed, ReadError([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]));
    }

    [Fact]
    public void Writing_more_than_the_frame_limit_is_refused()
    {
        var e = Assert.Throws<PacketFormatException>(() =>
            PacketCodec.Write(new ArrayBufferWriter<byte>(), new DataTransmissionPacket(new byte[2000]), maxFrameLength: 1000));
        Assert.Equal(PacketFormatError.FrameTooLarge, e.Error);
        using var writer = new PacketWriter(1000);
        e = Assert.Throws<PacketFormatException>(() => writer.Write(new ArrayBufferWriter<byte>(), new DataTransmissionPacket(new byte[2000])));
        Assert.Equal(PacketFormatError.FrameTooLarge, e.Error);
    }

    [Fact]
    public void Structural_errors_are_typed()
    {
        Assert.Equal(PacketFormatError.UnknownType, ReadError(RawFrame(6, "{}")));
        Assert.Equal(PacketFormatError.UnknownType, ReadError(RawFrame(255, "{}")));
        Assert.Equal(PacketFormatError.MalformedJson, ReadError(RawFrame(5, "{\"message\":")));
        Assert.Equal(PacketFormatError.MalformedJson, ReadError(RawFrame(5, "not json")));
        Assert.Equal(PacketFormatError.MalformedJson, ReadError(RawFrame(5, "null")));
        Assert.Equal(PacketFormatError.MalformedJson, ReadError(RawFrame(2, "{\"reason\":42}")));
        Assert.Equal(PacketFormatError.MalformedJson, ReadError(RawFrame(5, "{\"message\":\"a\"} {}")));
        Assert.Equal(PacketFormatError.MalformedJson, ReadError(RawFrame(4, "{\"dataType\":\"Nope\"}")));
        Assert.Equal(PacketFormatError.Malformed, ReadError(RawFrame(4, "{\"dataType\":99}")));
        // PureMessage text is the tail, strictly UTF-8: a lone continuation byte or a truncated sequence is malformed.
        Assert.Equal(PacketFormatError.Malformed, ReadError(RawFrame(5, "{}", [0x80])));
        Assert.Equal(PacketFormatError.Malformed, ReadError(RawFrame(5, "{}", [(byte)'a', 0xE2, 0x82])));
        Assert.Equal(PacketFormatError.Malformed, ReadError(RawFrame(1, "{\"addresses\":[]}")));
        Assert.Equal(PacketFormatError.UnexpectedTail, ReadError(RawFrame(3, "{\"peers\":[]}", [0])));
        Assert.Equal(PacketFormatError.UnexpectedTail, ReadError(RawFrame(2, "{}", [1, 2, 3])));

        // Body too short, JSON length past the body, JSON length over its limit.
        Assert.Equal(PacketFormatError.Malformed, ReadError([1, 5]));
        Assert.Equal(PacketFormatError.Malformed, ReadError([3, 5, 10, (byte)'{']));
        byte[] big = new byte[16];
        int n = Varint.Write(big, 12);
        big[n++] = 5;
        n += Varint.Write(big.AsSpan(n), PacketCodec.MaxJsonLength + 1UL);
        Assert.Equal(PacketFormatError.JsonTooLarge, ReadError(big[..13]));
    }

    [Fact]
    public void Limits_are_enforced_on_read_and_on_write()
    {
        static string Peers(int count, int addresses, int identifierLength) =>
            "{\"peers\":[" + string.Join(",", Enumerable.Range(0, count).Select(_ =>
                $"{{\"identifier\":\"{new string('x', identifierLength)}\",\"addresses\":[" +
                string.Join(",", Enumerable.Repeat("\"/ip4/1.2.3.4/tcp/1\"", addresses)) + "]}")) + "]}";

        _ = ReadOne(new ReadOnlySequence<byte>(RawFrame(3, Peers(PacketCodec.MaxPeersPerShare, PacketCodec.MaxAddressesPerPeer, PacketCodec.MaxIdentifierLength))));
        Assert.Equal(PacketFormatError.LimitExceeded, ReadError(RawFrame(3, Peers(PacketCodec.MaxPeersPerShare + 1, 1, 10))));
        Assert.Equal(PacketFormatError.LimitExceeded, ReadError(RawFrame(3, Peers(1, PacketCodec.MaxAddressesPerPeer + 1, 10))));
        Assert.Equal(PacketFormatError.LimitExceeded, ReadError(RawFrame(3, Peers(1, 1, PacketCodec.MaxIdentifierLength + 1))));
        Assert.Equal(PacketFormatError.LimitExceeded,
            ReadError(RawFrame(1, $"{{\"identifier\":\"{new string('x', PacketCodec.MaxIdentifierLength + 1)}\",\"addresses\":[]}}")));
        Assert.Equal(PacketFormatError.LimitExceeded,
            ReadError(RawFrame(5, "{}", Encoding.UTF8.GetBytes(new string('m', PacketCodec.MaxMessageLength + 1)))));
        Assert.Equal(PacketFormatError.LimitExceeded,
            ReadError(RawFrame(5, "{}", new byte[PacketCodec.MaxMessageLength * 3 + 1]))); // refused before decoding
        Assert.Equal(PacketFormatError.LimitExceeded,
            ReadError(RawFrame(2, $"{{\"reason\":\"{new string('r', PacketCodec.MaxTextLength + 1)}\"}}")));

        var tooMany = new CollectionSharePacket(Enumerable.Range(0, PacketCodec.MaxPeersPerShare + 1).Select(i => new PeerRecord($"p{i}")));
        Assert.Equal(PacketFormatError.LimitExceeded,
            Assert.Throws<PacketFormatException>(() => PacketCodec.Write(new ArrayBufferWriter<byte>(), tooMany)).Error);
        Assert.Equal(PacketFormatError.LimitExceeded,
            Assert.Throws<PacketFormatException>(() => PacketCodec.Write(new ArrayBufferWriter<byte>(), new PureMessagePacket(new string('m', PacketCodec.MaxMessageLength + 1)))).Error);
        Assert.Equal(PacketFormatError.Malformed,
            Assert.Throws<PacketFormatException>(() => PacketCodec.Write(new ArrayBufferWriter<byte>(), new PureMessagePacket("lone \uD800 surrogate"))).Error);
        Assert.Equal(PacketFormatError.Malformed,
            Assert.Throws<PacketFormatException>(() => PacketCodec.WriteHello(new ArrayBufferWriter<byte>(), new ChannelHello())).Error);
        // A maximal ASCII message still fits the JSON limit.
        AssertSame(new PureMessagePacket(new string('m', PacketCodec.MaxMessageLength)),
            ReadOne(new ReadOnlySequence<byte>(Frame(new PureMessagePacket(new string('m', PacketCodec.MaxMessageLength))))));
    }

    [Fact]
    public void Json_form_is_self_describing_and_round_trips()
    {
        foreach (NetworkPacket packet in Samples())
        {
            string json = PacketCodec.ToJson(packet);
            Assert.StartsWith($"{{\"type\":\"{packet.Type}\"", json, StringComparison.Ordinal);
            AssertSame(packet, PacketCodec.FromJson(json));
            AssertSame(packet, PacketCodec.FromJson(packet.Type, json));
        }

        var data = new DataTransmissionPacket([1, 2, 3], DataPayloadFormat.File, "f.txt");
        Assert.Equal("{\"type\":\"DataTransmission\",\"data\":\"AQID\",\"dataType\":\"File\",\"name\":\"f.txt\"}", PacketCodec.ToJson(data));
        Assert.Equal([1, 2, 3], PacketCodec.FromJson<DataTransmissionPacket>(PacketCodec.ToJson(data)).Data);
        Assert.Equal("hi", PacketCodec.FromJson<PureMessagePacket>("{\"message\":\"hi\"}").Message);
        Assert.Equal("hi", PacketCodec.FromJson<PureMessagePacket>("{\"type\":\"PureMessage\",\"message\":\"hi\"}").Message);
        // The discriminator may come last.
        Assert.Equal("hi", Assert.IsType<PureMessagePacket>(PacketCodec.FromJson("{\"message\":\"hi\",\"type\":\"PureMessage\"}")).Message);
        Assert.Equal("bye", Assert.IsType<DisconnectPacket>(PacketCodec.FromJson<NetworkPacket>("{\"type\":\"Disconnect\",\"reason\":\"bye\"}")).Reason);
    }

    [Fact]
    public void Json_form_errors_are_typed()
    {
        Assert.Equal(PacketFormatError.MalformedJson, Assert.Throws<PacketFormatException>(() => PacketCodec.FromJson("{\"message\":\"hi\"}")).Error);
        Assert.Equal(PacketFormatError.MalformedJson, Assert.Throws<PacketFormatException>(() => PacketCodec.FromJson("{\"type\":\"Nope\"}")).Error);
        Assert.Equal(PacketFormatError.MalformedJson, Assert.Throws<PacketFormatException>(() => PacketCodec.FromJson("[1,2]")).Error);
        Assert.Equal(PacketFormatError.MalformedJson, Assert.Throws<PacketFormatException>(() => PacketCodec.FromJson("null")).Error);
        Assert.Equal(PacketFormatError.MalformedJson,
            Assert.Throws<PacketFormatException>(() => PacketCodec.FromJson("{\"type\":\"DataTransmission\",\"data\":\"!!\"}")).Error);
        Assert.Equal(PacketFormatError.UnknownType, Assert.Throws<PacketFormatException>(() => PacketCodec.FromJson((PacketType)9, "{}")).Error);
        Assert.Equal(PacketFormatError.LimitExceeded,
            Assert.Throws<PacketFormatException>(() => PacketCodec.FromJson($"{{\"type\":\"Identity\",\"identifier\":\"{new string('x', 200)}\",\"addresses\":[]}}")).Error);
        Assert.Equal(PacketFormatError.JsonTooLarge,
            Assert.Throws<PacketFormatException>(() => PacketCodec.FromJson(new string(' ', PacketCodec.MaxJsonFormLength + 1))).Error);
    }

    [Fact]
    public void Random_garbage_only_ever_throws_PacketFormatException()
    {
        var random = new Random(12345);
        byte[][] valid = [.. Samples().Where(p => p is not DataTransmissionPacket { Data.Length: > 1000 }).Select(Frame)];
        int parsed = 0, rejected = 0, incomplete = 0;
        for (int i = 0; i < 20_000; i++)
        {
            byte[] input;
            if (i % 2 == 0)
            {
                input = new byte[random.Next(0, 64)];
                random.NextBytes(input);
                if (i % 4 == 0 && input.Length > 2)
                {
                    // Plausible header so the JSON path sees garbage too.
                    input[0] = (byte)(input.Length - 1);
                    input[1] = (byte)random.Next(0, 6);
                    input[2] = (byte)random.Next(0, input.Length - 2);
                }
            }
            else
            {
                // Mutate a valid frame.
                input = (byte[])valid[random.Next(valid.Length)].Clone();
                int flips = random.Next(1, 4);
                for (int f = 0; f < flips; f++) input[random.Next(input.Length)] = (byte)random.Next(256);
            }
            ReadOnlySequence<byte> sequence = Segmented.Split(input, random.Next(1, 16));
            try
            {
                // Drain: every successful read must consume bytes, so this terminates.
                while (PacketCodec.TryReadFrame(ref sequence, out _, out _, 4096))
                    parsed++;
                incomplete++;
            }
            catch (PacketFormatException)
            {
                rejected++;
            }
        }
        Assert.True(rejected > 1000, $"only {rejected} rejected");
        Assert.True(parsed + incomplete > 0);
    }

    [Fact]
    public void A_large_frame_grows_the_channel_batch_once_instead_of_doubling_it()
    {
        // BuffersExtensions.Write asks for spans without a size hint: the batch then doubled from 4 KiB, copying what it
        // held at each step (about 124 KiB copied for one 64 KiB message).
        var packet = new PureMessagePacket(new string('x', 64 * 1024));
        using var batch = new PooledBatch();
        int written = PacketCodec.Write(batch, packet);
        Assert.Equal(1, batch.Rents);
        Assert.Equal(written, batch.WrittenCount);
        var read = Assert.IsType<PureMessagePacket>(ReadOne(new ReadOnlySequence<byte>(batch.WrittenMemory)));
        Assert.Equal(packet.Message, read.Message);
    }
}
