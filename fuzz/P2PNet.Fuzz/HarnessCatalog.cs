using P2PNet.Fuzz.Harnesses;

namespace P2PNet.Fuzz;

/// <summary>Every harness by name; the corpus of each lives in fuzz/corpus/&lt;name&gt;/.</summary>
public static class HarnessCatalog
{
    /// <summary>All harnesses, in the order docs/fuzzing.md lists them.</summary>
    public static IReadOnlyList<Harness> All { get; } =
    [
        new("multiaddr-text", "Multiaddr.Parse, with text and binary round trips", CoreHarnesses.MultiaddrTextAsync),
        new("multiaddr-binary", "Multiaddr.FromBytes, with text and binary round trips", CoreHarnesses.MultiaddrBinaryAsync),
        new("key", "PublicKey.FromProtobuf, PeerId.FromBytes, Identity.ImportPrivateKeyProtobuf", CoreHarnesses.KeyAsync),
        new("peerid-text", "PeerId.Parse (base58)", CoreHarnesses.PeerIdTextAsync),
        new("multistream", "MultistreamSelect.ListenAsync and SelectAsync over a byte stream", WireHarnesses.MultistreamAsync),
        new("noise-handshake", "Noise XX messages, raw and with a genuine peer carrying a fuzzed libp2p payload", NoiseHarnesses.HandshakeAsync),
        new("noise-transport", "NoiseStream transport frames, raw and sealed (reassembly checked)", NoiseHarnesses.TransportAsync),
        new("yamux", "YamuxSession fed a byte stream, accepting and serving every stream", YamuxHarness.RunAsync),
        new("identify", "IdentifyProtocol.ReadAsync", WireHarnesses.IdentifyAsync),
        new("autonat", "AutoNAT v2: dial-request messages (with re-encoding), DialBack, dial data, DialBackResponse", AutoNatHarness.RunAsync),
        new("relay", "Circuit relay v2 hop and stop messages (RelayProtocol), with re-encoding, and RelayVoucher.Open", RelayHarnesses.RelayAsync),
        new("dcutr", "DCUtR HolePunch messages (DcutrProtocol.ReadAsync), with re-encoding", DcutrHarness.RunAsync),
        new("dns", "DnsCodec.Decode (mDNS), with re-encoding", DiscoveryHarnesses.DnsAsync),
        new("lan-announcement", "LanAnnouncement.Decode, with re-encoding", DiscoveryHarnesses.LanAnnouncementAsync),
        new("packet", "PacketCodec.TryReadFrame over a segmented pipe buffer, with re-encoding", PacketHarnesses.PacketAsync),
        new("channel-hello", "The ChannelHello JSON inside a hello frame", PacketHarnesses.ChannelHelloAsync),
        new("bootstrap-client", "BootstrapChannel reading identity, register, peers, my-ip and error answers", BootstrapHarnesses.ClientAsync),
        new("bootstrap-server", "The server's registration JSON and validation", BootstrapHarnesses.ServerAsync),
        new("transfer", "TransferProtocol request decoding, and ReceiveRangeAsync verifying a response stream against a fixed file", TransferHarnesses.TransferAsync),
        new("ticket", "TransferTicket.TryParse, with a stable round trip", TransferHarnesses.TicketAsync),
        new("live", "A real node on loopback TCP fed yamux frames or stream bytes after a genuine handshake", LiveStackHarness.RunAsync),
    ];

    /// <summary>The harness called <paramref name="name"/>, or null.</summary>
    public static Harness? Find(string name) => All.FirstOrDefault(h => h.Name == name);
}
