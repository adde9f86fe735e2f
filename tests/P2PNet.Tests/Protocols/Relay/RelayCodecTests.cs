using P2PNet.Core;
using P2PNet.Protocols.Relay;

namespace P2PNet.Tests.Protocols.Relay;

/// <summary>Circuit relay v2 messages, vouchers and circuit multiaddrs, without sockets.</summary>
public sealed class RelayCodecTests
{
    [Fact]
    public void Circuit_multiaddrs_round_trip_and_name_the_target_as_their_peer()
    {
        using var relay = Identity.Generate();
        using var target = Identity.Generate();
        var text = $"/ip4/127.0.0.1/tcp/4001/p2p/{relay.PeerId}/p2p-circuit/p2p/{target.PeerId}";
        var addr = Multiaddr.Parse(text);
        Assert.Equal(text, addr.ToString());
        Assert.Equal(addr, Multiaddr.FromBytes(addr.ToBytes()));
        Assert.True(addr.IsCircuit);
        Assert.Equal(target.PeerId, addr.PeerId);
        Assert.Null(addr.TcpTarget); // no TCP transport may claim it
        var (relayAddr, split) = addr.SplitCircuit()!.Value;
        Assert.Equal($"/ip4/127.0.0.1/tcp/4001/p2p/{relay.PeerId}", relayAddr.ToString());
        Assert.Equal(target.PeerId, split);
        Assert.Equal($"/ip4/127.0.0.1/tcp/4001/p2p/{relay.PeerId}/p2p-circuit", addr.WithoutPeerId().ToString());
        Assert.Null(addr.WithoutPeerId().PeerId);
        Assert.Equal("/p2p-circuit", Multiaddr.Parse("/p2p-circuit").ToString());
        Assert.Throws<FormatException>(() => Multiaddr.FromBytes([0xA2, 0x02, 0x01])); // p2p-circuit then a truncated code
    }

    [Fact]
    public void Hop_and_stop_messages_round_trip()
    {
        using var peer = Identity.Generate();
        var hop = new HopMessage(HopMessageType.Status)
        {
            Status = RelayStatus.Ok,
            Peer = new RelayPeer(peer.PeerId, [Multiaddr.Parse("/ip4/1.2.3.4/tcp/5")]),
            Reservation = new ReservationMessage(1_900_000_000, [Multiaddr.Parse("/ip4/1.2.3.4/tcp/5")], [1, 2, 3]),
            Limit = new RelayLimit(TimeSpan.FromMinutes(2), 131072),
        };
        var back = HopMessage.FromProtobuf(hop.ToProtobuf());
        Assert.Equal(HopMessageType.Status, back.Type);
        Assert.Equal(RelayStatus.Ok, back.Status);
        Assert.Equal(peer.PeerId, back.Peer!.Id);
        Assert.Single(back.Peer.Addrs);
        Assert.Equal(1_900_000_000UL, back.Reservation!.Expire);
        Assert.Equal([1, 2, 3], back.Reservation.Voucher);
        Assert.Equal(hop.Limit, back.Limit);

        var stop = new StopMessage(StopMessageType.Connect) { Peer = new RelayPeer(peer.PeerId, []), Limit = new RelayLimit(null, 10) };
        var stopBack = StopMessage.FromProtobuf(stop.ToProtobuf());
        Assert.Equal(StopMessageType.Connect, stopBack.Type);
        Assert.Equal(peer.PeerId, stopBack.Peer!.Id);
        Assert.Equal(new RelayLimit(null, 10), stopBack.Limit);
    }

    [Theory]
    [InlineData(new byte[] { })]                         // no type
    [InlineData(new byte[] { 0x08, 0x07 })]              // unknown type
    [InlineData(new byte[] { 0x0A, 0x01, 0x00 })]        // type with the wrong wire type
    [InlineData(new byte[] { 0x08, 0x01, 0x12, 0x05 })]  // peer overruns the message
    [InlineData(new byte[] { 0x08, 0x01, 0x12, 0x00 })]  // peer without an id
    [InlineData(new byte[] { 0x08, 0x01, 0x12, 0x02, 0x0A, 0x00 })] // peer with an empty id
    [InlineData(new byte[] { 0x08, 0x02, 0x1A, 0x00 })]  // reservation without expiry
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 })] // bad tag
    public void Malformed_hop_messages_fail_as_malformed(byte[] encoded)
    {
        var ex = Assert.Throws<RelayException>(() => HopMessage.FromProtobuf(encoded));
        Assert.Equal(RelayError.Malformed, ex.Error);
    }

    [Fact]
    public void Oversized_messages_are_refused_before_parsing()
    {
        var ex = Assert.Throws<RelayException>(() => HopMessage.FromProtobuf(new byte[RelayProtocol.MaxMessageLength + 1]));
        Assert.Equal(RelayError.MessageTooLong, ex.Error);
    }

    [Fact]
    public async Task A_length_prefix_over_the_limit_fails_before_allocating()
    {
        var stream = new MemoryStream([0x81, 0x40]); // 8193
        var ex = await Assert.ThrowsAsync<RelayException>(() => RelayProtocol.ReadHopAsync(stream, TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Equal(RelayError.MessageTooLong, ex.Error);
        var truncated = new MemoryStream([0x05, 0x08]);
        ex = await Assert.ThrowsAsync<RelayException>(() => RelayProtocol.ReadHopAsync(truncated, TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Equal(RelayError.Closed, ex.Error);
    }

    [Fact]
    public void Vouchers_verify_and_forgeries_do_not()
    {
        using var relay = Identity.Generate();
        using var peer = Identity.Generate();
        using var forger = Identity.Generate();
        var voucher = new RelayVoucher(relay.PeerId, peer.PeerId, DateTimeOffset.FromUnixTimeSeconds(1_900_000_000));
        byte[] sealedVoucher = voucher.Seal(relay);
        Assert.Equal(voucher, RelayVoucher.Open(sealedVoucher));

        // Signed by someone else in the relay's name.
        var claimed = new RelayVoucher(forger.PeerId, peer.PeerId, voucher.Expiration).Seal(forger);
        Assert.Throws<ArgumentException>(() => voucher.Seal(forger));
        Assert.Equal(relay.PeerId, RelayVoucher.Open(sealedVoucher).Relay);
        Assert.Equal(forger.PeerId, RelayVoucher.Open(claimed).Relay);

        // Any flipped byte breaks it (the payload, the signature, the key).
        for (int i = 0; i < sealedVoucher.Length; i += 7)
        {
            byte[] tampered = (byte[])sealedVoucher.Clone();
            tampered[i] ^= 0x01;
            var ex = Assert.Throws<RelayException>(() => RelayVoucher.Open(tampered));
            Assert.Equal(RelayError.BadVoucher, ex.Error);
        }
        Assert.Equal(RelayError.BadVoucher, Assert.Throws<RelayException>(() => RelayVoucher.Open([0x0A, 0x00])).Error);
    }
}
