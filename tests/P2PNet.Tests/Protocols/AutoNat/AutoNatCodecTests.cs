using Google.Protobuf;
using P2PNet.Core;
using P2PNet.Protocols.AutoNat;
using P2PNet.Swarm;
using P2PNet.Tests.Negotiation;

namespace P2PNet.Tests.Protocols.AutoNat;

/// <summary>The AutoNAT v2 messages as bytes: round trips, the spec's field numbers, and every way a peer can get them wrong.</summary>
public sealed class AutoNatCodecTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static byte[] Proto(Action<CodedOutputStream> write)
    {
        var ms = new MemoryStream();
        var output = new CodedOutputStream(ms);
        write(output);
        output.Flush();
        return ms.ToArray();
    }

    private static byte[] Framed(byte[] body)
    {
        byte[] frame = new byte[P2PNet.Wire.Varint.SizeOf((ulong)body.Length) + body.Length];
        body.CopyTo(frame, P2PNet.Wire.Varint.Write(frame, (ulong)body.Length));
        return frame;
    }

    private static async Task<AutoNatError> ReadErrorAsync(byte[] input)
    {
        var (writer, reader) = DuplexPipe.Create();
        await writer.WriteAsync(input);
        writer.CompleteWrite();
        var ex = await Assert.ThrowsAsync<AutoNatException>(() => AutoNatProtocol.ReadAsync(reader, CancellationToken.None).WaitAsync(Timeout));
        return ex.Error;
    }

    [Fact]
    public void Every_message_round_trips()
    {
        byte[] addr = Multiaddr.Parse("/ip4/198.18.0.7/tcp/4001").ToBytes();
        var request = Assert.IsType<DialRequest>(AutoNatCodec.Decode(AutoNatCodec.Encode(new DialRequest([addr, [1, 2]], 0xDEADBEEF_00000001))));
        Assert.Equal(0xDEADBEEF_00000001UL, request.Nonce);
        Assert.Equal(2, request.Addrs.Count);
        Assert.Equal(addr, request.Addrs[0]);
        Assert.Equal(new DialResponse(ResponseStatus.Ok, 3, DialStatus.DialBackError),
            AutoNatCodec.Decode(AutoNatCodec.Encode(new DialResponse(ResponseStatus.Ok, 3, DialStatus.DialBackError))));
        Assert.Equal(new DialDataRequest(1, 54_321), AutoNatCodec.Decode(AutoNatCodec.Encode(new DialDataRequest(1, 54_321))));
        Assert.Equal(new DialDataResponse(4000), AutoNatCodec.Decode(AutoNatCodec.Encode(new DialDataResponse(4000))));
        Assert.Equal(42UL, AutoNatCodec.DecodeDialBack(AutoNatCodec.EncodeDialBack(42)));
        Assert.Equal(0U, AutoNatCodec.DecodeDialBackResponse(AutoNatCodec.EncodeDialBackResponse()));
    }

    [Fact]
    public void Encoding_follows_the_spec_field_numbers()
    {
        // Message.dialResponse = 2 { status = 1: 200, addrIdx = 2: 0 (omitted), dialStatus = 3: 100 }
        byte[] expected = Proto(o =>
        {
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(Proto(i =>
            {
                i.WriteTag(1, WireFormat.WireType.Varint);
                i.WriteUInt32(200);
                i.WriteTag(3, WireFormat.WireType.Varint);
                i.WriteUInt32(100);
            })));
        });
        Assert.Equal(expected, AutoNatCodec.Encode(new DialResponse(ResponseStatus.Ok, 0, DialStatus.DialError)));
        // DialBack { fixed64 nonce = 1 }
        Assert.Equal(Proto(o => { o.WriteTag(1, WireFormat.WireType.Fixed64); o.WriteFixed64(7); }), AutoNatCodec.EncodeDialBack(7));
    }

    [Fact]
    public void Unknown_fields_are_skipped_and_an_empty_message_has_no_kind()
    {
        Assert.Null(AutoNatCodec.Decode([]));
        byte[] withExtra = Proto(o =>
        {
            o.WriteTag(9, WireFormat.WireType.Varint);
            o.WriteUInt64(5);
            o.WriteTag(3, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(Proto(i => { i.WriteTag(2, WireFormat.WireType.Varint); i.WriteUInt64(30_000); i.WriteTag(15, WireFormat.WireType.Fixed32); i.WriteFixed32(1); })));
        });
        Assert.Equal(new DialDataRequest(0, 30_000), AutoNatCodec.Decode(withExtra));
    }

    [Fact]
    public void A_known_field_with_the_wrong_wire_type_is_malformed()
    {
        byte[] nonceAsVarint = Proto(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(Proto(i => { i.WriteTag(2, WireFormat.WireType.Varint); i.WriteUInt64(1); })));
        });
        Assert.Equal(AutoNatError.Malformed, Assert.Throws<AutoNatException>(() => AutoNatCodec.Decode(nonceAsVarint)).Error);
        byte[] messageAsVarint = Proto(o => { o.WriteTag(1, WireFormat.WireType.Varint); o.WriteUInt64(1); });
        Assert.Equal(AutoNatError.Malformed, Assert.Throws<AutoNatException>(() => AutoNatCodec.Decode(messageAsVarint)).Error);
    }

    [Fact]
    public async Task Stream_reads_report_oversized_truncated_malformed_and_empty_messages()
    {
        // The length is checked before anything is read or allocated.
        Assert.Equal(AutoNatError.MessageTooLong, await ReadErrorAsync([0x81, 0x40])); // 8193
        Assert.Equal(AutoNatError.Truncated, await ReadErrorAsync([0x05, 0x0A, 0x00]));
        Assert.Equal(AutoNatError.Truncated, await ReadErrorAsync([0x80]));
        Assert.Equal(AutoNatError.Malformed, await ReadErrorAsync([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]));
        Assert.Equal(AutoNatError.Malformed, await ReadErrorAsync(Framed([0x0A, 0x05, 0x01])));
        Assert.Equal(AutoNatError.UnexpectedMessage, await ReadErrorAsync(Framed([])));
        // A clean end before a message is not an error.
        var (writer, reader) = DuplexPipe.Create();
        writer.CompleteWrite();
        Assert.Null(await AutoNatProtocol.ReadAsync(reader, CancellationToken.None).WaitAsync(Timeout));
    }

    [Fact]
    public async Task Dial_data_is_counted_and_trickling_is_refused()
    {
        var (writer, reader) = DuplexPipe.Create();
        await AutoNatProtocol.WriteDialDataAsync(writer, 30_001, CancellationToken.None);
        writer.CompleteWrite();
        await AutoNatProtocol.ReadDialDataAsync(reader, 30_001, CancellationToken.None).WaitAsync(Timeout);

        (writer, reader) = DuplexPipe.Create();
        for (int i = 0; i < 3; i++) await writer.WriteAsync(Framed(AutoNatCodec.Encode(new DialDataResponse(10))));
        writer.CompleteWrite();
        var ex = await Assert.ThrowsAsync<AutoNatException>(() => AutoNatProtocol.ReadDialDataAsync(reader, 30_000, CancellationToken.None).WaitAsync(Timeout));
        Assert.Equal(AutoNatError.DialDataRefused, ex.Error);

        (writer, reader) = DuplexPipe.Create();
        await AutoNatProtocol.WriteDialDataAsync(writer, 8_000, CancellationToken.None);
        writer.CompleteWrite();
        ex = await Assert.ThrowsAsync<AutoNatException>(() => AutoNatProtocol.ReadDialDataAsync(reader, 30_000, CancellationToken.None).WaitAsync(Timeout));
        Assert.Equal(AutoNatError.Truncated, ex.Error);
    }

    [Fact]
    public async Task An_oversized_dial_back_is_refused()
    {
        var (writer, reader) = DuplexPipe.Create();
        await writer.WriteAsync(new byte[] { 0x81, 0x08 }); // 1025 > 1024
        writer.CompleteWrite();
        var ex = await Assert.ThrowsAsync<AutoNatException>(() => AutoNatProtocol.ReadDialBackAsync(reader, CancellationToken.None).WaitAsync(Timeout));
        Assert.Equal(AutoNatError.MessageTooLong, ex.Error);
    }

    [Theory]
    [InlineData("8.8.8.8", true)]
    [InlineData("10.1.2.3", false)]
    [InlineData("127.0.0.1", false)]
    [InlineData("198.18.0.5", false)]
    [InlineData("100.64.1.1", false)]
    [InlineData("169.254.1.1", false)]
    [InlineData("2606:4700::1", true)]
    [InlineData("::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    [InlineData("2001:db8::1", false)]
    public void Only_global_unicast_addresses_are_public_by_default(string ip, bool expected)
    {
        var scope = new AddressScope([]);
        Assert.Equal(expected, scope.IsPublic(System.Net.IPAddress.Parse(ip)));
    }

    [Fact]
    public void Listed_ranges_are_public_and_only_ip_tcp_addresses_qualify()
    {
        var scope = new AddressScope([System.Net.IPNetwork.Parse("198.18.0.0/15")]);
        Assert.True(scope.IsPublic(System.Net.IPAddress.Parse("198.19.255.1")));
        Assert.False(scope.IsPublic(System.Net.IPAddress.Parse("10.0.0.1")));
        Assert.NotNull(scope.PublicTcpEndPoint(Multiaddr.Parse("/ip4/198.18.0.2/tcp/4001")));
        Assert.Null(scope.PublicTcpEndPoint(Multiaddr.Parse("/ip4/198.18.0.2/tcp/0")));
        Assert.Null(scope.PublicTcpEndPoint(Multiaddr.Parse("/dns4/example.com/tcp/4001")));
        Assert.Null(scope.PublicTcpEndPoint(Multiaddr.Parse("/ip4/198.18.0.2/udp/4001")));
    }
}
