using Google.Protobuf;
using P2PNet.Core;
using P2PNet.Protocols.Identify;
using P2PNet.Tests.Negotiation;

namespace P2PNet.Tests.Protocols.Identify;

public class IdentifyProtocolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static IdentifyInfo Sample(Identity id) => new()
    {
        ProtocolVersion = IdentifyProtocol.DefaultProtocolVersion,
        AgentVersion = IdentifyProtocol.DefaultAgentVersion,
        PublicKey = id.PublicKey,
        ListenAddrs = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001"), Multiaddr.Parse("/ip6/::1/tcp/4002")],
        ObservedAddr = Multiaddr.Parse("/ip4/203.0.113.7/tcp/51000"),
        Protocols = ["/ipfs/id/1.0.0", "/ipfs/ping/1.0.0", "/é/1"],
        SignedPeerRecord = [1, 2, 3],
    };

    private static void AssertSame(IdentifyInfo expected, IdentifyInfo actual)
    {
        Assert.Equal(expected.ProtocolVersion, actual.ProtocolVersion);
        Assert.Equal(expected.AgentVersion, actual.AgentVersion);
        Assert.Equal(expected.PublicKey, actual.PublicKey);
        Assert.Equal(expected.ListenAddrs, actual.ListenAddrs);
        Assert.Equal(expected.ObservedAddr, actual.ObservedAddr);
        Assert.Equal(expected.Protocols, actual.Protocols);
        Assert.Equal(expected.SignedPeerRecord, actual.SignedPeerRecord);
    }

    // Hand-built protobuf for malformed/unknown-field cases.
    private static byte[] Proto(Action<CodedOutputStream> write)
    {
        var ms = new MemoryStream();
        var output = new CodedOutputStream(ms);
        write(output);
        output.Flush();
        return ms.ToArray();
    }

    private static byte[] Framed(params byte[][] messages)
    {
        var ms = new MemoryStream();
        Span<byte> v = stackalloc byte[9];
        foreach (byte[] m in messages)
        {
            ms.Write(v[..P2PNet.Wire.Varint.Write(v, (ulong)m.Length)]);
            ms.Write(m);
        }
        return ms.ToArray();
    }

    private static async Task<IdentifyError> ReadErrorAsync(byte[] input, bool close = true)
    {
        var (writer, reader) = DuplexPipe.Create();
        await writer.WriteAsync(input);
        if (close) writer.CompleteWrite();
        var ex = await Assert.ThrowsAsync<IdentifyException>(() => IdentifyProtocol.ReadAsync(reader).WaitAsync(Timeout));
        return ex.Error;
    }

    [Fact]
    public void Protobuf_round_trips()
    {
        using var id = Identity.Generate();
        var info = Sample(id);
        AssertSame(info, IdentifyInfo.FromProtobuf(info.ToProtobuf()));
    }

    [Fact]
    public void Empty_message_decodes_to_defaults()
    {
        var info = IdentifyInfo.FromProtobuf([]);
        Assert.Null(info.PublicKey);
        Assert.Empty(info.ListenAddrs);
        Assert.Empty(info.Protocols);
        Assert.Empty(new IdentifyInfo().ToProtobuf());
    }

    [Fact]
    public async Task Write_then_read_over_a_stream()
    {
        using var id = Identity.Generate();
        var info = Sample(id);
        var (responder, initiator) = DuplexPipe.Create();
        await IdentifyProtocol.WriteAsync(responder, info).WaitAsync(Timeout);
        Assert.Equal(1, responder.WriteCount);
        responder.CompleteWrite(); // the caller's half-close
        var read = await IdentifyProtocol.ReadAsync(initiator).WaitAsync(Timeout);
        AssertSame(info, read);
        read.Validate(id.PeerId);
    }

    [Fact]
    public async Task Write_then_read_over_loopback_tcp()
    {
        using var id = Identity.Generate();
        var info = Sample(id);
        await using var tcp = await TcpPair.CreateAsync();
        await IdentifyProtocol.WriteAsync(tcp.Listener, info).WaitAsync(Timeout);
        tcp.ListenerSocket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        AssertSame(info, await IdentifyProtocol.ReadAsync(tcp.Dialer).WaitAsync(Timeout));
    }

    [Fact]
    public void Unknown_fields_and_wrong_wire_types_are_skipped()
    {
        using var id = Identity.Generate();
        byte[] encoded = Proto(o =>
        {
            o.WriteTag(99, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(7, 7, 7));
            o.WriteTag(7, WireFormat.WireType.Varint);
            o.WriteUInt64(12345);
            o.WriteTag(6, WireFormat.WireType.Fixed32); // agentVersion with a bogus wire type
            o.WriteFixed32(1);
            o.WriteTag(6, WireFormat.WireType.LengthDelimited);
            o.WriteString("go-libp2p/0.40");
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(id.PublicKey.ToProtobuf()));
        });
        var info = IdentifyInfo.FromProtobuf(encoded);
        Assert.Equal("go-libp2p/0.40", info.AgentVersion);
        Assert.Equal(id.PublicKey, info.PublicKey);
    }

    [Fact]
    public void Unparseable_addresses_are_skipped()
    {
        var good = Multiaddr.Parse("/ip4/10.0.0.1/tcp/1234");
        byte[] quic = [0x04, 127, 0, 0, 1, 0x91, 0x02, 0x0f, 0xa1, 0xcc, 0x03]; // /ip4/127.0.0.1/udp/4001/quic-v1
        byte[] encoded = Proto(o =>
        {
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(quic));
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(good.ToBytes()));
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(0xff, 0xff));
            o.WriteTag(4, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(0x04, 1));
        });
        var info = IdentifyInfo.FromProtobuf(encoded);
        Assert.Equal([good], info.ListenAddrs);
        Assert.Null(info.ObservedAddr);
    }

    [Fact]
    public void Malformed_protobuf_and_bad_key_are_typed_errors()
    {
        var ex = Assert.Throws<IdentifyException>(() => IdentifyInfo.FromProtobuf([0x12, 0x05, 0x01]));
        Assert.Equal(IdentifyError.Malformed, ex.Error);
        byte[] badKey = Proto(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(0x08));
        });
        ex = Assert.Throws<IdentifyException>(() => IdentifyInfo.FromProtobuf(badKey));
        Assert.Equal(IdentifyError.InvalidPublicKey, ex.Error);
    }

    [Fact]
    public void Oversized_message_is_rejected()
    {
        var ex = Assert.Throws<IdentifyException>(() => IdentifyInfo.FromProtobuf(new byte[IdentifyProtocol.MaxMessageLength + 1]));
        Assert.Equal(IdentifyError.MessageTooLong, ex.Error);
    }

    [Fact]
    public async Task Oversized_length_prefix_is_rejected_before_the_body()
    {
        Assert.Equal(IdentifyError.MessageTooLong, await ReadErrorAsync([0x81, 0x40], close: false)); // 8193
    }

    [Fact]
    public async Task Writing_an_oversized_message_fails()
    {
        var (writer, _) = DuplexPipe.Create();
        var info = new IdentifyInfo { Protocols = [.. Enumerable.Range(0, 1000).Select(i => $"/protocol/{i}")] };
        var ex = await Assert.ThrowsAsync<IdentifyException>(() => IdentifyProtocol.WriteAsync(writer, info).WaitAsync(Timeout));
        Assert.Equal(IdentifyError.MessageTooLong, ex.Error);
        Assert.Equal(0, writer.WriteCount);
    }

    [Fact]
    public async Task Truncated_streams_are_reported()
    {
        Assert.Equal(IdentifyError.Truncated, await ReadErrorAsync([]));
        Assert.Equal(IdentifyError.Truncated, await ReadErrorAsync([0x80]));
        Assert.Equal(IdentifyError.Truncated, await ReadErrorAsync([10, 1, 2, 3]));
        Assert.Equal(IdentifyError.Malformed, await ReadErrorAsync([0x80, 0x00]));
    }

    [Fact]
    public async Task Split_messages_are_merged()
    {
        using var id = Identity.Generate();
        var first = new IdentifyInfo { PublicKey = id.PublicKey, AgentVersion = "go-libp2p/1", Protocols = ["/a"], ListenAddrs = [Multiaddr.Parse("/ip4/1.2.3.4/tcp/1")] };
        var second = new IdentifyInfo { Protocols = ["/b"], SignedPeerRecord = [42] };
        var (writer, reader) = DuplexPipe.Create();
        await writer.WriteAsync(Framed(first.ToProtobuf(), second.ToProtobuf()));
        writer.CompleteWrite();
        var info = await IdentifyProtocol.ReadAsync(reader).WaitAsync(Timeout);
        Assert.Equal(["/a", "/b"], info.Protocols);
        Assert.Equal("go-libp2p/1", info.AgentVersion);
        Assert.Equal(id.PublicKey, info.PublicKey);
        Assert.Single(info.ListenAddrs);
        Assert.Equal(new byte[] { 42 }, info.SignedPeerRecord);
    }

    [Fact]
    public async Task Too_many_messages_are_rejected()
    {
        byte[][] empties = [.. Enumerable.Range(0, IdentifyProtocol.MaxMessages + 1).Select(_ => Array.Empty<byte>())];
        Assert.Equal(IdentifyError.TooManyMessages, await ReadErrorAsync(Framed(empties)));
    }

    [Fact]
    public void Validate_checks_the_remote_peer_id()
    {
        using var id = Identity.Generate();
        using var other = Identity.Generate();
        var info = new IdentifyInfo { PublicKey = id.PublicKey };
        info.Validate(id.PeerId);
        Assert.Equal(IdentifyError.PeerIdMismatch, Assert.Throws<IdentifyException>(() => info.Validate(other.PeerId)).Error);
        Assert.Equal(IdentifyError.MissingPublicKey, Assert.Throws<IdentifyException>(() => new IdentifyInfo().Validate(id.PeerId)).Error);
    }
}
