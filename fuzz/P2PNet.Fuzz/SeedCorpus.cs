using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using P2PNet.Core;
using P2PNet.Discovery.LanBroadcast;
using P2PNet.Discovery.Mdns;
using P2PNet.Fuzz.Harnesses;
using P2PNet.Peers.Bootstrap;
using P2PNet.Peers.Packets;
using P2PNet.Protocols.AutoNat;
using P2PNet.Protocols.Dcutr;
using P2PNet.Protocols.Identify;
using P2PNet.Protocols.Relay;
using P2PNet.Protocols.Transfer;
using P2PNet.Wire;

namespace P2PNet.Fuzz;

/// <summary>
/// Writes the valid seeds of every harness (<c>P2PNet.Fuzz --write-seeds fuzz/corpus</c>): made by our own
/// encoders from fixed keys, so they are reproducible. Edge cases and crashers are added to the corpus by hand.
/// </summary>
internal static class SeedCorpus
{
    private const string Addr = "/ip4/127.0.0.1/tcp/4001";

    public static void Write(string root)
    {
        var peer = NoiseHarnesses.PeerIdentity;
        var id = peer.PeerId;
        var addresses = new[] { Multiaddr.Parse(Addr), Multiaddr.Parse("/ip6/::1/tcp/53"), Multiaddr.Parse("/dns4/example.com/udp/443") };
        void Put(string harness, string name, byte[] data)
        {
            string dir = Path.Combine(root, harness);
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, name), data);
        }
        byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
        byte[] Cat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

        foreach (var (a, i) in addresses.Append(Multiaddr.Parse(Addr).WithPeerId(id)).Select((a, i) => (a, i)))
        {
            Put("multiaddr-text", $"seed-{i}", Utf8(a.ToString()));
            Put("multiaddr-binary", $"seed-{i}", a.ToBytes());
        }

        Put("key", "public-key", peer.PublicKey.ToProtobuf());
        Put("key", "peer-id", id.Bytes.ToArray());
        Put("key", "private-key", peer.ExportPrivateKeyProtobuf());
        Put("peerid-text", "seed", Utf8(id.ToString()));

        static byte[] Ms(params string[] lines) => [.. lines.SelectMany(l => { byte[] b = Encoding.UTF8.GetBytes(l + "\n"); return LengthPrefix(b); })];
        Put("multistream", "listen", Cat([0x00], Ms("/multistream/1.0.0", "/unknown", "/yamux/1.0.0")));
        Put("multistream", "select", Cat([0x01], Ms("/multistream/1.0.0", "na", "/yamux/1.0.0")));

        byte[] payload = NoiseHarnesses.ValidPeerPayload();
        Put("noise-handshake", "raw-responder", Cat([0x00, 0x00, 0x20], new byte[32]));
        Put("noise-handshake", "raw-initiator", Cat([0x01, 0x00, 0x50], new byte[80]));
        Put("noise-handshake", "genuine-initiator-payload", Cat([0x02], payload));
        Put("noise-handshake", "genuine-responder-payload", Cat([0x03], payload));
        Put("noise-transport", "sealed", Cat([0x01, 5], Utf8("hello"), [0], [3], Utf8("abc")));
        Put("noise-transport", "sealed-small-reads", Cat([0x0B, 200], new byte[200], [10], new byte[10]));
        Put("noise-transport", "raw", Cat([0x00, 0x00, 0x10], new byte[16]));

        // yamux: SYN on stream 2/1, data, window update, ping, FIN, go-away.
        static byte[] Y(byte type, ushort flags, uint stream, uint length, byte[]? body = null)
        {
            byte[] h = new byte[12 + (body?.Length ?? 0)];
            h[1] = type;
            BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(2), flags);
            BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), stream);
            BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(8), length);
            body?.CopyTo(h, 12);
            return h;
        }
        byte[] streamLife(uint s) => Cat(Y(1, 1, s, 0), Y(0, 0, s, 5, Utf8("hello")), Y(1, 0, s, 1024), Y(2, 1, 0, 7), Y(0, 4, s, 0));
        Put("yamux", "server-stream", Cat([0x00], streamLife(1), Y(3, 0, 0, 0)));
        Put("yamux", "client-stream", Cat([0x01], streamLife(2), Y(3, 0, 0, 1)));
        Put("yamux", "small-reads", Cat([0x02], streamLife(1), Y(0, 8, 1, 0)));
        Put("live", "frames", Cat([0x00], streamLife(1)));
        Put("live", "ping-stream", Cat([0x01], Ms("/multistream/1.0.0", "/ipfs/ping/1.0.0"), new byte[32]));
        Put("live", "identify-stream", Cat([0x01], Ms("/multistream/1.0.0", "/ipfs/id/1.0.0")));
        var hello = new ArrayBufferWriter<byte>();
        PacketCodec.WriteHello(hello, new ChannelHello(id.ToString(), [Addr], "fuzz", "p2pnet/fuzz"));
        PacketCodec.Write(hello, new PureMessagePacket("hi"));
        Put("live", "channel-stream", Cat([0x01], Ms("/multistream/1.0.0", PacketCodec.ChannelProtocolId), hello.WrittenSpan.ToArray()));

        var info = new IdentifyInfo { ProtocolVersion = "ipfs/0.1.0", AgentVersion = "p2pnet", PublicKey = peer.PublicKey, ListenAddrs = addresses, ObservedAddr = addresses[0], Protocols = ["/ipfs/ping/1.0.0"] };
        Put("identify", "one", Cat([0xFF], LengthPrefix(info.ToProtobuf())));
        Put("identify", "two-small-reads", Cat([0x03], LengthPrefix(info.ToProtobuf()), LengthPrefix(new IdentifyInfo { AgentVersion = "x" }.ToProtobuf())));

        // AutoNAT v2: a client's view (dial data asked, then the answer), a server's view (request), dial back, dial data.
        byte[] Nat(AutoNatMessage m) => LengthPrefix(AutoNatCodec.Encode(m));
        Put("autonat", "request", Cat([0x00], Nat(new DialRequest([addresses[0].ToBytes(), addresses[1].ToBytes()], 0x0102030405060708))));
        Put("autonat", "data-then-response", Cat([0x1C], Nat(new DialDataRequest(0, 30_000)), Nat(new DialResponse(ResponseStatus.Ok, 0, DialStatus.Ok))));
        Put("autonat", "refused", Cat([0x00], Nat(new DialResponse(ResponseStatus.DialRefused, 0, DialStatus.Unused))));
        Put("autonat", "dial-back", Cat([0x01], LengthPrefix(AutoNatCodec.EncodeDialBack(42))));
        Put("autonat", "dial-data", Cat([0xFE], Enumerable.Range(0, 8).SelectMany(_ => Nat(new DialDataResponse(AutoNatProtocol.DialDataChunk))).ToArray()));
        Put("autonat", "dial-back-response", [0x03, 0x08, 0x00]);
        var limit = new RelayLimit(TimeSpan.FromMinutes(2), 128 * 1024);
        using (var relayKey = Identity.FromSeed(new byte[32]))
        {
            byte[] voucher = new RelayVoucher(relayKey.PeerId, id, DateTimeOffset.FromUnixTimeSeconds(1_900_000_000)).Seal(relayKey);
            Put("relay", "hop-reserve", Cat([0xFC], LengthPrefix(new HopMessage(HopMessageType.Reserve).ToProtobuf())));
            Put("relay", "hop-connect", Cat([0x00], LengthPrefix(new HopMessage(HopMessageType.Connect) { Peer = new RelayPeer(id, addresses) }.ToProtobuf())));
            Put("relay", "hop-status-reservation", Cat([0xFC], LengthPrefix(new HopMessage(HopMessageType.Status)
            {
                Status = RelayStatus.Ok,
                Reservation = new ReservationMessage(1_900_000_000, [Multiaddr.Parse(Addr).WithPeerId(relayKey.PeerId)], voucher),
                Limit = limit,
            }.ToProtobuf())));
            Put("relay", "stop-connect", Cat([0xFD], LengthPrefix(new StopMessage(StopMessageType.Connect) { Peer = new RelayPeer(id, []), Limit = limit }.ToProtobuf())));
            Put("relay", "stop-status", Cat([0x01], LengthPrefix(new StopMessage(StopMessageType.Status) { Status = RelayStatus.Ok }.ToProtobuf())));
            Put("relay", "voucher", Cat([0x02], voucher));
            // The voucher's payload alone (bit 2: the harness signs it), and the status answers a client reads.
            Put("relay", "voucher-payload", Cat([0x06], SignedEnvelope.Open(voucher, RelayVoucher.Domain, RelayHarnesses.VoucherPayloadType).Payload));
            Put("relay", "hop-status-refused", Cat([0x00], LengthPrefix(new HopMessage(HopMessageType.Status) { Status = RelayStatus.ReservationRefused }.ToProtobuf())));
            Put("relay", "hop-status-connect-limit", Cat([0x00], LengthPrefix(new HopMessage(HopMessageType.Status) { Status = RelayStatus.Ok, Limit = limit }.ToProtobuf())));
            Put("relay", "stop-connect-addrs", Cat([0x01], LengthPrefix(new StopMessage(StopMessageType.Connect) { Peer = new RelayPeer(id, addresses) }.ToProtobuf())));
        }

        // DCUtR: B's CONNECT, A's CONNECT then SYNC read in small pieces.
        Put("dcutr", "connect", Cat([0xFF], LengthPrefix(new HolePunchMessage(HolePunchType.Connect, addresses).ToProtobuf())));
        Put("dcutr", "connect-sync-small-reads", Cat([0x02], LengthPrefix(new HolePunchMessage(HolePunchType.Connect, [addresses[0]]).ToProtobuf()),
            LengthPrefix(new HolePunchMessage(HolePunchType.Sync, []).ToProtobuf())));

        Put("dns", "query", DnsCodec.Encode(MdnsRecords.Query("_p2p._udp.local")));
        Put("dns", "response", DnsCodec.Encode(MdnsRecords.Response("_p2p._udp.local", "peer1", id, addresses, 120, 8)));
        Put("lan-announcement", "seed", new LanAnnouncement("fuzz", id, addresses).Encode());

        var frames = new ArrayBufferWriter<byte>();
        PacketCodec.WriteHello(frames, new ChannelHello(id.ToString(), [Addr], "fuzz", "agent"));
        PacketCodec.Write(frames, new PureMessagePacket("hello"));
        PacketCodec.Write(frames, new DataTransmissionPacket([1, 2, 3], DataPayloadFormat.MiscData, "f.bin", "application/octet-stream"));
        PacketCodec.Write(frames, new IdentityPacket(id.ToString(), [Addr], "name"));
        PacketCodec.Write(frames, new CollectionSharePacket([new PeerRecord(id.ToString(), [Addr])]));
        PacketCodec.Write(frames, new DisconnectPacket("bye"));
        Put("packet", "all-types", Cat([0xFF], frames.WrittenSpan.ToArray()));
        Put("packet", "segmented", Cat([0x00], frames.WrittenSpan.ToArray()));
        Put("channel-hello", "seed", JsonSerializer.SerializeToUtf8Bytes(new ChannelHello(id.ToString(), [Addr], "fuzz", "agent") { DisplayName = "n" }, PacketJsonContext.Default.ChannelHello));

        byte[] Envelope<T>(string kind, T answer, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, bool signed)
        {
            byte[] body = JsonSerializer.SerializeToUtf8Bytes(answer, type);
            return JsonSerializer.SerializeToUtf8Bytes(new BootstrapEnvelope
            {
                Kind = kind,
                Payload = Convert.ToBase64String(body),
                Signer = signed ? id.ToString() : null,
                Signature = signed ? Convert.ToBase64String(peer.Sign(BootstrapSigning.AnswerBytes(kind, body))) : null,
            }, BootstrapJsonContext.Default.BootstrapEnvelope);
        }
        var ctx = BootstrapJsonContext.Default;
        Put("bootstrap-client", "identity", Cat([0], Envelope("identity", new BootstrapIdentityAnswer { Mode = BootstrapMode.Authority, PeerId = id.ToString(), PeerTtlSeconds = 60, IssuedAt = 1 }, ctx.BootstrapIdentityAnswer, true)));
        Put("bootstrap-client", "register", Cat([1], Envelope("register", new BootstrapRegistrationAnswer { PeerId = id.ToString(), Timestamp = 1, TtlSeconds = 60, ObservedAddress = "127.0.0.1" }, ctx.BootstrapRegistrationAnswer, false)));
        Put("bootstrap-client", "peers", Cat([2], Envelope("peers", new BootstrapPeersAnswer { Network = "fuzz", Peers = [new BootstrapPeerRecord { PeerId = id.ToString(), Addresses = [Addr] }], Tasks = [new BootstrapNetworkTask { Kind = BootstrapNetworkTask.BlockIdentifier, Target = id.ToString(), IssuedAt = 1 }], IssuedAt = 1 }, ctx.BootstrapPeersAnswer, true)));
        Put("bootstrap-client", "my-ip", Cat([3], Envelope("ip", new BootstrapIpAnswer { Address = "127.0.0.1", IssuedAt = 1 }, ctx.BootstrapIpAnswer, false)));
        Put("bootstrap-client", "error", Cat([4], JsonSerializer.SerializeToUtf8Bytes(new BootstrapErrorAnswer { Error = "invalid", Detail = "x" }, ctx.BootstrapErrorAnswer)));
        // Wrapped payloads (bit 7): the harness seals them in a fresh unsigned envelope.
        Put("bootstrap-client", "wrapped-identity", Cat([0x80], Utf8("{\"mode\":\"Trustless\",\"peerTtlSeconds\":60,\"issuedAt\":NOW}")));
        Put("bootstrap-client", "wrapped-register", Cat([0x81], Utf8("{\"peerId\":\"x\",\"timestamp\":NOW,\"ttlSeconds\":60,\"observedAddress\":\"127.0.0.1\"}")));
        Put("bootstrap-client", "wrapped-peers", Cat([0x82], Utf8($"{{\"network\":\"fuzz\",\"peers\":[{{\"peerId\":\"{id}\",\"addresses\":[\"{Addr}\"],\"lastSeen\":NOW}}],\"tasks\":[],\"issuedAt\":NOW}}")));
        Put("bootstrap-client", "wrapped-ip", Cat([0x83], Utf8("{\"address\":\"::ffff:127.0.0.1\",\"issuedAt\":NOW}")));
        var registration = BootstrapSigning.Sign(new BootstrapRegistration { PeerId = id.ToString(), Addresses = [Addr], Network = "fuzz", Timestamp = 1 }, peer);
        Put("bootstrap-server", "signed", JsonSerializer.SerializeToUtf8Bytes(registration, ctx.BootstrapRegistration));

        // Transfer: requests (bare and framed), and genuine responses for ranges of each fixed file (byte 0: file << 1 | 1).
        var files = TransferHarnesses.Files;
        var cid = MerkleTree.ComputeId(files[2]);
        byte[] secret = [.. Enumerable.Range(1, TransferProtocol.SecretSize).Select(i => (byte)i)];
        byte[] request = TransferProtocol.EncodeRequest(new TransferRequest(cid, secret, 1, 3));
        Put("transfer", "request", Cat([0x00], request));
        Put("transfer", "request-no-secret", Cat([0x00], TransferProtocol.EncodeRequest(new TransferRequest(cid, ReadOnlyMemory<byte>.Empty, 0, TransferProtocol.MaxGroupsPerRequest))));
        Put("transfer", "request-framed", Cat([0x02 | (7 << 2)], LengthPrefix(request)));
        Put("transfer", "response-empty", Cat([0x01, 0, 0, 255], TransferHarnesses.Response(files[0], 0, 1)));
        Put("transfer", "response-short", Cat([0x03, 0, 0, 255], TransferHarnesses.Response(files[1], 0, 1)));
        Put("transfer", "response-all", Cat([0x05, 0, 4, 255], TransferHarnesses.Response(files[2], 0, 5)));
        Put("transfer", "response-middle-small-reads", Cat([0x05, 1, 2, 0], TransferHarnesses.Response(files[2], 1, 3)));
        Put("transfer", "response-last", Cat([0x05, 4, 0, 255], TransferHarnesses.Response(files[2], 4, 1)));

        // Tickets: with and without secret and addresses.
        Put("ticket", "seed", Utf8(new TransferTicket(cid, files[2].Length, "file.bin", secret, addresses).ToString()));
        Put("ticket", "no-secret", Utf8(new TransferTicket(cid, files[2].Length, "Ünïcode name.txt", ReadOnlyMemory<byte>.Empty, []).ToString()));
        Put("ticket", "peer-address", Utf8(new TransferTicket(MerkleTree.ComputeId([]), 0, "empty", secret, [Multiaddr.Parse(Addr).WithPeerId(id)]).ToString()));
    }

    private static byte[] LengthPrefix(byte[] body)
    {
        var frame = new byte[Varint.SizeOf((ulong)body.Length) + body.Length];
        body.CopyTo(frame, Varint.Write(frame, (ulong)body.Length));
        return frame;
    }
}
