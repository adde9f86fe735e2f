using Google.Protobuf;
using P2PNet.Core;
using P2PNet.Protocols.Dcutr;
using P2PNet.Wire;

namespace P2PNet.Tests.Protocols.Dcutr;

/// <summary>The DCUtR HolePunch message as bytes: round trips, the spec's field numbers, and the ways a peer gets it wrong.</summary>
public sealed class DcutrCodecTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_connect_round_trips_with_the_spec_field_numbers()
    {
        var message = new HolePunchMessage(HolePunchType.Connect, [Multiaddr.Parse("/ip4/198.18.0.5/tcp/4001"), Multiaddr.Parse("/ip6/2001:db8::1/tcp/5")]);
        byte[] body = message.ToProtobuf();
        Assert.Equal(0x08, body[0]); // field 1, varint
        Assert.Equal(100, body[1]);
        Assert.Equal(0x12, body[2]); // field 2, bytes
        var decoded = HolePunchMessage.FromProtobuf(body);
        Assert.Equal(HolePunchType.Connect, decoded.Type);
        Assert.Equal(message.ObsAddrs, decoded.ObsAddrs);

        using var ms = new MemoryStream();
        await DcutrProtocol.WriteAsync(ms, new HolePunchMessage(HolePunchType.Sync, []));
        ms.Position = 0;
        var sync = await DcutrProtocol.ReadAsync(ms, Timeout);
        Assert.Equal(HolePunchType.Sync, sync.Type);
        Assert.Empty(sync.ObsAddrs);
    }

    [Fact]
    public void Unknown_fields_and_unparsable_addresses_are_skipped_and_addresses_are_capped()
    {
        using var ms = new MemoryStream();
        using (var o = new CodedOutputStream(ms, leaveOpen: true))
        {
            o.WriteTag(9, WireFormat.WireType.Varint);
            o.WriteUInt64(7);
            o.WriteTag(1, WireFormat.WireType.Varint);
            o.WriteEnum(100);
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(0xff, 0xff, 0xff)); // not a multiaddr
            for (int i = 0; i < DcutrProtocol.MaxAddresses + 5; i++)
            {
                o.WriteTag(2, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(Multiaddr.Parse($"/ip4/198.18.0.{i}/tcp/1").ToBytes()));
            }
        }
        var decoded = HolePunchMessage.FromProtobuf(ms.ToArray());
        Assert.Equal(DcutrProtocol.MaxAddresses, decoded.ObsAddrs.Count);
    }

    [Theory]
    [InlineData(new byte[] { 0x12, 0x00 }, "without a type")] // addresses only
    [InlineData(new byte[] { 0x08, 0xC8, 0x01 }, "unknown type 200")]
    [InlineData(new byte[] { 0x0A, 0x01, 0x64 }, "wire type")] // type as bytes
    [InlineData(new byte[] { 0x08 }, "malformed")] // truncated varint
    [InlineData(new byte[] { 0x12, 0x05, 0x01 }, "malformed")] // truncated bytes
    public void Malformed_messages_are_refused_with_a_clear_error(byte[] body, string expected)
    {
        var ex = Assert.Throws<DcutrException>(() => HolePunchMessage.FromProtobuf(body));
        Assert.Equal(DcutrError.Malformed, ex.Error);
        Assert.Contains(expected, ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_oversized_length_is_refused_before_reading_the_body()
    {
        using var ms = new MemoryStream();
        byte[] prefix = new byte[10];
        int n = Varint.Write(prefix, DcutrProtocol.MaxMessageLength + 1);
        ms.Write(prefix, 0, n);
        ms.Position = 0;
        var ex = await Assert.ThrowsAsync<DcutrException>(() => DcutrProtocol.ReadAsync(ms, Timeout));
        Assert.Equal(DcutrError.MessageTooLong, ex.Error);
        Assert.Throws<DcutrException>(() => HolePunchMessage.FromProtobuf(new byte[DcutrProtocol.MaxMessageLength + 1]));

        var tooMany = new HolePunchMessage(HolePunchType.Connect, [.. Enumerable.Range(0, 300).Select(i => Multiaddr.Parse($"/ip6/2001:db8::{i:x}/tcp/4001"))]);
        var ours = await Assert.ThrowsAsync<DcutrException>(() => DcutrProtocol.WriteAsync(Stream.Null, tooMany));
        Assert.Equal(DcutrError.MessageTooLong, ours.Error);
    }

    [Fact]
    public async Task A_stream_that_ends_early_or_stays_silent_fails_typed()
    {
        using var truncated = new MemoryStream([0x05, 0x08]);
        Assert.Equal(DcutrError.Closed, (await Assert.ThrowsAsync<DcutrException>(() => DcutrProtocol.ReadAsync(truncated, Timeout))).Error);
        var (client, server) = await Support.LoopbackTcp.ConnectAsync();
        await using (client)
        await using (server)
            Assert.Equal(DcutrError.Timeout, (await Assert.ThrowsAsync<DcutrException>(() => DcutrProtocol.ReadAsync(server, TimeSpan.FromMilliseconds(100)))).Error);
    }
}
