using P2PNet.Core;
using P2PNet.Discovery.Mdns;

namespace P2PNet.Tests.Discovery.Mdns;

/// <summary>The libp2p mDNS messages, built and parsed without sockets.</summary>
public sealed class MdnsRecordsTests
{
    private const string Service = "_p2p._udp.local";

    [Fact]
    public void Peer_names_follow_the_spec()
    {
        for (int i = 0; i < 200; i++)
        {
            string name = MdnsRecords.NewPeerName();
            Assert.InRange(name.Length, 32, 63);
            Assert.Matches("^[A-Za-z0-9]+$", name);
        }
    }

    [Fact]
    public void A_response_round_trips_through_the_codec_to_the_announced_peer()
    {
        using var id = Identity.Generate();
        Multiaddr[] addresses = [Multiaddr.Parse("/ip4/10.0.0.5/tcp/4001"), Multiaddr.Parse("/ip6/fe80::1/tcp/4001"), Multiaddr.Parse("/ip4/10.0.0.5/tcp/4001")];
        var response = MdnsRecords.Response(Service, "abcdefghijabcdefghijabcdefghij12", id.PeerId, addresses, 120, 16);

        Assert.True(response.IsResponse && response.IsAuthoritative);
        var ptr = Assert.Single(response.Answers);
        Assert.Equal(Service, ptr.Name);
        var txt = Assert.IsType<DnsTxtData>(response.Additionals[0].Data);
        Assert.All(txt.Strings, s => Assert.StartsWith("dnsaddr=", s, StringComparison.Ordinal));
        Assert.All(txt.Strings, s => Assert.EndsWith("/p2p/" + id.PeerId, s, StringComparison.Ordinal));
        Assert.Contains(response.Additionals, r => r.Data is DnsSrvData { Port: 4001 });

        var decoded = DnsCodec.Decode(DnsCodec.Encode(response));
        var peer = Assert.Single(MdnsRecords.Peers(decoded, Service, "someoneelse", 16, 16, out var problems));
        Assert.Empty(problems);
        Assert.Equal(id.PeerId, peer.PeerId);
        Assert.Equal(["/ip4/10.0.0.5/tcp/4001", "/ip6/fe80::1/tcp/4001"], peer.Addresses.Select(a => a.ToString()));
    }

    [Fact]
    public void Our_own_name_and_foreign_services_are_ignored()
    {
        using var id = Identity.Generate();
        var response = DnsCodec.Decode(DnsCodec.Encode(MdnsRecords.Response(Service, "mynameisthirtytwocharacterslong0", id.PeerId, [Multiaddr.Parse("/ip4/10.0.0.5/tcp/1")], 120, 16)));
        Assert.Empty(MdnsRecords.Peers(response, Service, "mynameisthirtytwocharacterslong0", 16, 16, out _));
        Assert.Empty(MdnsRecords.Peers(response, "_other._udp.local", null, 16, 16, out _));
        Assert.Single(MdnsRecords.Peers(response, "_P2P._UDP.LOCAL", null, 16, 16, out _)); // DNS names ignore case
    }

    [Fact]
    public void The_js_libp2p_layout_with_txt_in_answers_is_understood()
    {
        // js-libp2p answers with the PTR and one TXT record per address, all in the answer section.
        using var id = Identity.Generate();
        var message = new DnsMessage { IsResponse = true, IsAuthoritative = true };
        message.Answers.Add(new DnsRecord(Service, new DnsPtrData("jspeer." + Service), 120));
        message.Answers.Add(new DnsRecord("jspeer." + Service, new DnsTxtData([$"dnsaddr=/ip4/127.0.0.1/tcp/5001/p2p/{id.PeerId}"]), 120));
        message.Answers.Add(new DnsRecord("jspeer." + Service, new DnsTxtData([$"dnsaddr=/ip4/192.168.1.2/tcp/5001/p2p/{id.PeerId}"]), 120));
        var peer = Assert.Single(MdnsRecords.Peers(DnsCodec.Decode(DnsCodec.Encode(message)), Service, null, 16, 16, out _));
        Assert.Equal(2, peer.Addresses.Count);
    }

    [Fact]
    public void Bad_txt_strings_drop_the_instance_with_a_reason()
    {
        using var a = Identity.Generate();
        using var b = Identity.Generate();
        string[][] cases =
        [
            ["dnsaddr=/ip4/not-an-ip/tcp/1/p2p/" + a.PeerId],
            ["dnsaddr=/ip4/10.0.0.1/tcp/1"],
            [$"dnsaddr=/ip4/10.0.0.1/tcp/1/p2p/{a.PeerId}", $"dnsaddr=/ip4/10.0.0.2/tcp/1/p2p/{b.PeerId}"],
            ["notdnsaddr=x"],
            [],
        ];
        foreach (var strings in cases)
        {
            var message = new DnsMessage { IsResponse = true };
            message.Answers.Add(new DnsRecord(Service, new DnsPtrData("x." + Service), 120));
            message.Additionals.Add(new DnsRecord("x." + Service, new DnsTxtData(strings), 120));
            Assert.Empty(MdnsRecords.Peers(message, Service, null, 16, 16, out var problems));
            Assert.Single(problems);
        }
    }

    [Fact]
    public void Peers_and_addresses_per_response_are_bounded()
    {
        var message = new DnsMessage { IsResponse = true };
        for (int i = 0; i < 30; i++)
        {
            using var id = Identity.Generate();
            message.Answers.Add(new DnsRecord(Service, new DnsPtrData($"p{i}." + Service), 120));
            message.Additionals.Add(new DnsRecord($"p{i}." + Service,
                new DnsTxtData(Enumerable.Range(0, 30).Select(j => $"dnsaddr=/ip4/10.0.0.{j}/tcp/1/p2p/{id.PeerId}")), 120));
        }
        var peers = MdnsRecords.Peers(message, Service, null, maxPeers: 4, maxAddresses: 3, out var problems);
        Assert.Equal(4, peers.Count);
        Assert.All(peers, p => Assert.Equal(3, p.Addresses.Count));
        Assert.Contains(problems, p => p.Contains("more than 4 peers", StringComparison.Ordinal));
    }

    [Fact]
    public void Queries_for_the_service_are_recognised()
    {
        Assert.True(MdnsRecords.AsksFor(DnsCodec.Decode(DnsCodec.Encode(MdnsRecords.Query(Service))), Service));
        var any = new DnsMessage();
        any.Questions.Add(new DnsQuestion(Service, DnsRecordType.ANY));
        Assert.True(MdnsRecords.AsksFor(any, Service));
        var other = new DnsMessage();
        other.Questions.Add(new DnsQuestion("_http._tcp.local", DnsRecordType.PTR));
        Assert.False(MdnsRecords.AsksFor(other, Service));
    }
}
