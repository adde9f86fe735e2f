using System.Diagnostics;
using System.Net;
using P2PNet.Discovery.Mdns;

namespace P2PNet.Tests.Discovery.Mdns;

/// <summary>The mDNS DNS message codec: round trips, hand-built compressed input, every error, and fuzzing.</summary>
public sealed class DnsCodecTests
{
    private const string Service = "_p2p._udp.local";
    private const string Instance = "abcdefghijklmnop._p2p._udp.local";
    private const string DnsAddr = "dnsaddr=/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

    private static DnsMessage SampleResponse()
    {
        var m = new DnsMessage { Id = 0, IsResponse = true, IsAuthoritative = true };
        m.Answers.Add(new DnsRecord(Service, new DnsPtrData(Instance), 120));
        m.Additionals.Add(new DnsRecord(Instance, new DnsTxtData([DnsAddr, "dnsaddr=/ip6/::1/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"]), 120, cacheFlush: true));
        m.Additionals.Add(new DnsRecord("host.local", new DnsAddressData(IPAddress.Parse("192.168.1.7")), 120, cacheFlush: true));
        m.Additionals.Add(new DnsRecord("host.local", new DnsAddressData(IPAddress.Parse("fe80::1")), 120, cacheFlush: true));
        m.Additionals.Add(new DnsRecord(Instance, new DnsSrvData(1, 2, 4001, "host.local"), 120));
        m.Additionals.Add(new DnsRecord(Instance, new DnsRawData((DnsRecordType)47, [1, 2, 3]), 120)); // NSEC kept raw
        return m;
    }

    [Fact]
    public void Query_for_p2p_service_round_trips()
    {
        var q = new DnsMessage { Id = 0x1234 };
        q.Questions.Add(new DnsQuestion(Service, DnsRecordType.PTR, unicastResponse: true));
        byte[] wire = DnsCodec.Encode(q);
        Assert.Equal(12 + 17 + 4, wire.Length);

        var d = DnsCodec.Decode(wire);
        Assert.Equal(0x1234, d.Id);
        Assert.False(d.IsResponse);
        var dq = Assert.Single(d.Questions);
        Assert.Equal(Service, dq.Name);
        Assert.Equal(DnsRecordType.PTR, dq.Type);
        Assert.Equal(DnsQuestion.ClassIn, dq.Class);
        Assert.True(dq.UnicastResponse);
        Assert.Empty(d.Answers);
    }

    [Fact]
    public void Response_with_ptr_txt_a_aaaa_srv_and_unknown_round_trips()
    {
        byte[] wire = DnsCodec.Encode(SampleResponse());
        var d = DnsCodec.Decode(wire);

        Assert.True(d.IsResponse);
        Assert.True(d.IsAuthoritative);
        var ptr = Assert.Single(d.Answers);
        Assert.Equal(Service, ptr.Name);
        Assert.Equal(DnsRecordType.PTR, ptr.Type);
        Assert.Equal(120u, ptr.Ttl);
        Assert.False(ptr.CacheFlush);
        Assert.Equal(Instance, Assert.IsType<DnsPtrData>(ptr.Data).Target);

        Assert.Equal(5, d.Additionals.Count);
        var txt = d.Additionals[0];
        Assert.True(txt.CacheFlush);
        Assert.Equal(DnsQuestion.ClassIn, txt.Class);
        Assert.Equal(DnsAddr, Assert.IsType<DnsTxtData>(txt.Data).Strings[0]);
        Assert.Equal(2, ((DnsTxtData)txt.Data).Strings.Count);
        Assert.Equal(IPAddress.Parse("192.168.1.7"), Assert.IsType<DnsAddressData>(d.Additionals[1].Data).Address);
        Assert.Equal(DnsRecordType.A, d.Additionals[1].Type);
        Assert.Equal(IPAddress.Parse("fe80::1"), Assert.IsType<DnsAddressData>(d.Additionals[2].Data).Address);
        Assert.Equal(DnsRecordType.AAAA, d.Additionals[2].Type);
        var srv = Assert.IsType<DnsSrvData>(d.Additionals[3].Data);
        Assert.Equal((1, 2, 4001, "host.local"), (srv.Priority, srv.Weight, srv.Port, srv.Target));
        var raw = Assert.IsType<DnsRawData>(d.Additionals[4].Data);
        Assert.Equal((DnsRecordType)47, raw.RecordType);
        Assert.Equal(new byte[] { 1, 2, 3 }, raw.Data.ToArray());

        // Re-encoding the decoded message is byte-identical.
        Assert.Equal(wire, DnsCodec.Encode(d));
    }

    [Fact]
    public void Encoder_compresses_repeated_suffixes()
    {
        var m = new DnsMessage();
        m.Answers.Add(new DnsRecord(Service, new DnsPtrData(Instance), 120));
        byte[] wire = DnsCodec.Encode(m);
        // header 12, owner 17, fixed 10, rdata = 1+16 label + 2-byte pointer to offset 12.
        Assert.Equal(12 + 17 + 10 + 19, wire.Length);
        Assert.Equal(new byte[] { 0xC0, 12 }, wire[^2..]);
    }

    [Fact]
    public void Decodes_hand_built_compressed_message()
    {
        byte[] wire =
        [
            0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, // id 0, QR|AA, 2 answers
            // answer 1 at 12: _p2p._udp.local PTR peer1.<ptr 12>
            4, (byte)'_', (byte)'p', (byte)'2', (byte)'p', 4, (byte)'_', (byte)'u', (byte)'d', (byte)'p',
            5, (byte)'l', (byte)'o', (byte)'c', (byte)'a', (byte)'l', 0,                 // 12..28
            0x00, 12, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 8,                       // PTR IN 120 rdlen 8
            5, (byte)'p', (byte)'e', (byte)'e', (byte)'r', (byte)'1', 0xC0, 12,          // at 39: peer1.<12>
            // answer 2: owner = pointer to 39 (peer1._p2p._udp.local), TXT cache-flush
            0xC0, 39, 0x00, 16, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 6,
            5, (byte)'a', (byte)'=', (byte)'b', (byte)'/', (byte)'c',
        ];
        var d = DnsCodec.Decode(wire);
        Assert.True(d.IsResponse && d.IsAuthoritative);
        Assert.Equal("peer1._p2p._udp.local", Assert.IsType<DnsPtrData>(d.Answers[0].Data).Target);
        Assert.Equal("peer1._p2p._udp.local", d.Answers[1].Name);
        Assert.True(d.Answers[1].CacheFlush);
        Assert.Equal(["a=b/c"], Assert.IsType<DnsTxtData>(d.Answers[1].Data).Strings);
    }

    private static DnsFormatError ErrorOf(ReadOnlySpan<byte> wire)
    {
        try
        {
            DnsCodec.Decode(wire);
        }
        catch (DnsFormatException e)
        {
            return e.Error;
        }

        Assert.Fail("decode succeeded");
        return default;
    }

    private static byte[] Header(int qd = 0, int an = 0, int ns = 0, int ar = 0) =>
        [0, 0, 0, 0, (byte)(qd >> 8), (byte)qd, (byte)(an >> 8), (byte)an, (byte)(ns >> 8), (byte)ns, (byte)(ar >> 8), (byte)ar];

    [Fact]
    public void Compression_loop_is_rejected()
    {
        // Label "a" at 12, then a pointer at 14 back to 12: "a.a.a..." forever without the limits.
        var e = ErrorOf([.. Header(qd: 1), 1, (byte)'a', 0xC0, 12, 0, 1, 0, 1]);
        Assert.True(e is DnsFormatError.CompressionLoop or DnsFormatError.NameTooLong, e.ToString());

        // A chain of label-free pointers, each strictly backwards, must stop at the hop limit.
        Assert.Equal(DnsFormatError.CompressionLoop, ErrorOf(ChainMessage(DnsCodec.MaxPointerHops + 5)));
        DnsCodec.Decode(ChainMessage(DnsCodec.MaxPointerHops - 2)); // within the limit it decodes
    }

    /// <summary>
    /// An answer of unknown type whose raw data is a chain of <paramref name="hops"/> pointers (each to the one
    /// before, the first to the root name at 12), then a second answer whose owner points at the last link.
    /// </summary>
    private static byte[] ChainMessage(int hops)
    {
        var b = new List<byte>(Header(an: 2));
        b.AddRange([0, 0, 99, 0, 1, 0, 0, 0, 0]); // owner root at 12, type 99, class IN, ttl 0
        int rdlenAt = b.Count;
        b.AddRange([0, 0]);
        int chainStart = b.Count;
        int prev = 12;
        for (int i = 0; i < hops; i++)
        {
            int at = b.Count;
            b.AddRange([(byte)(0xC0 | (prev >> 8)), (byte)prev]);
            prev = at;
        }

        int rdlen = b.Count - chainStart;
        b[rdlenAt] = (byte)(rdlen >> 8);
        b[rdlenAt + 1] = (byte)rdlen;
        b.AddRange([(byte)(0xC0 | (prev >> 8)), (byte)prev, 0, 99, 0, 1, 0, 0, 0, 0, 0, 0]);
        return [.. b];
    }

    [Fact]
    public void Forward_and_self_pointers_are_rejected()
    {
        Assert.Equal(DnsFormatError.ForwardPointer, ErrorOf([.. Header(qd: 1), 0xC0, 12, 0, 1, 0, 1])); // self
        Assert.Equal(DnsFormatError.ForwardPointer, ErrorOf([.. Header(qd: 1), 0xC0, 16, 0, 1, 0, 1, 0]));
    }

    [Fact]
    public void Truncated_inputs_are_rejected()
    {
        Assert.Equal(DnsFormatError.Truncated, ErrorOf([]));
        Assert.Equal(DnsFormatError.Truncated, ErrorOf(Header().AsSpan(0, 11)));
        byte[] full = DnsCodec.Encode(SampleResponse());
        var q = new DnsMessage();
        q.Questions.Add(new DnsQuestion(Service, DnsRecordType.PTR));
        byte[] query = DnsCodec.Encode(q);
        Assert.Equal(DnsFormatError.Truncated, ErrorOf(query.AsSpan(0, query.Length - 1)));   // question fixed part
        Assert.Equal(DnsFormatError.Truncated, ErrorOf(query.AsSpan(0, query.Length - 6)));   // inside the name
        for (int cut = HeaderLength; cut < full.Length; cut++)
        {
            var e = ErrorOf(full.AsSpan(0, cut));
            Assert.True(e is DnsFormatError.Truncated or DnsFormatError.RdLengthOverrun, $"cut {cut}: {e}");
        }

        // Record header truncated after the owner name.
        Assert.Equal(DnsFormatError.Truncated, ErrorOf([.. Header(an: 1), 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]));
    }

    private const int HeaderLength = DnsCodec.HeaderSize;

    [Fact]
    public void Rdlength_overruns_are_rejected()
    {
        Assert.Equal(DnsFormatError.RdLengthOverrun, ErrorOf([.. Header(an: 1), 0, 0, 99, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2]));
        // TXT string longer than its rdata.
        Assert.Equal(DnsFormatError.RdLengthOverrun, ErrorOf([.. Header(an: 1), 0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 2, 5, 1, 0, 0, 0]));
        // PTR name running past rdlength (rdlength 2 but the name needs 3 bytes).
        Assert.Equal(DnsFormatError.Truncated, ErrorOf([.. Header(an: 1), 0, 0, 12, 0, 1, 0, 0, 0, 0, 0, 2, 1, (byte)'a', 0]));
        // A record with wrong size.
        Assert.Equal(DnsFormatError.InvalidRecordData, ErrorOf([.. Header(an: 1), 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3]));
    }

    [Fact]
    public void Overlong_labels_and_names_are_rejected_both_ways()
    {
        var m = new DnsMessage();
        m.Questions.Add(new DnsQuestion(new string('a', 64) + ".local", DnsRecordType.A));
        Assert.Equal(DnsFormatError.LabelTooLong, Assert.Throws<DnsFormatException>(() => DnsCodec.Encode(m)).Error);

        string longName = string.Join('.', Enumerable.Repeat(new string('b', 63), 4)); // 4*64+1 = 257 bytes
        m = new DnsMessage();
        m.Questions.Add(new DnsQuestion(longName, DnsRecordType.A));
        Assert.Equal(DnsFormatError.NameTooLong, Assert.Throws<DnsFormatException>(() => DnsCodec.Encode(m)).Error);

        m = new DnsMessage();
        m.Questions.Add(new DnsQuestion("a..local", DnsRecordType.A));
        Assert.Equal(DnsFormatError.InvalidName, Assert.Throws<DnsFormatException>(() => DnsCodec.Encode(m)).Error);

        // Decoding: length byte 64 is a reserved label type, i.e. an over-long label.
        Assert.Equal(DnsFormatError.LabelTooLong, ErrorOf([.. Header(qd: 1), 64, .. new byte[64], 0, 0, 1, 0, 1]));
        var wire = new List<byte>(Header(qd: 1));
        for (int i = 0; i < 4; i++)
        {
            wire.Add(63);
            wire.AddRange(Enumerable.Repeat((byte)'c', 63));
        }

        wire.AddRange([0, 0, 1, 0, 1]);
        Assert.Equal(DnsFormatError.NameTooLong, ErrorOf([.. wire]));
        Assert.Equal(DnsFormatError.InvalidName, ErrorOf([.. Header(qd: 1), 3, (byte)'a', (byte)'.', (byte)'b', 0, 0, 1, 0, 1]));
    }

    [Fact]
    public void Too_many_records_and_oversized_messages_are_rejected()
    {
        Assert.Equal(DnsFormatError.TooManyRecords, ErrorOf([.. Header(qd: DnsCodec.MaxRecordsPerSection + 1), .. new byte[2000]]));
        Assert.Equal(DnsFormatError.TooManyRecords, ErrorOf([.. Header(an: 0xFFFF)]));
        Assert.Equal(DnsFormatError.TooManyRecords, ErrorOf([.. Header(an: 64, ns: 64, ar: 64), .. new byte[3000]]));
        Assert.Equal(DnsFormatError.Truncated, ErrorOf([.. Header(an: 64)])); // counts the bytes cannot hold
        Assert.Equal(DnsFormatError.MessageTooLarge, ErrorOf(new byte[DnsCodec.MaxMessageSize + 1]));

        var many = new DnsMessage();
        for (int i = 0; i <= DnsCodec.MaxRecordsPerSection; i++)
        {
            many.Answers.Add(new DnsRecord("x.local", new DnsAddressData(IPAddress.Loopback), 1));
        }

        Assert.Equal(DnsFormatError.TooManyRecords, Assert.Throws<DnsFormatException>(() => DnsCodec.Encode(many)).Error);

        var big = new DnsMessage();
        for (int i = 0; i < 40; i++)
        {
            big.Answers.Add(new DnsRecord("x.local", new DnsRawData((DnsRecordType)99, new byte[250]), 1));
        }

        Assert.Equal(DnsFormatError.MessageTooLarge, Assert.Throws<DnsFormatException>(() => DnsCodec.Encode(big)).Error);

        var txt = new DnsMessage();
        txt.Answers.Add(new DnsRecord("x.local", new DnsTxtData(Enumerable.Repeat("k=v", DnsCodec.MaxTxtStrings + 1)), 1));
        Assert.Equal(DnsFormatError.TooManyTxtStrings, Assert.Throws<DnsFormatException>(() => DnsCodec.Encode(txt)).Error);
        byte[] rdata = [.. Enumerable.Repeat((byte)0, DnsCodec.MaxTxtStrings + 1)]; // 65 empty strings
        Assert.Equal(DnsFormatError.TooManyTxtStrings, ErrorOf([.. Header(an: 1), 0, 0, 16, 0, 1, 0, 0, 0, 0, 0, (byte)rdata.Length, .. rdata]));
    }

    [Fact]
    public void Fuzzed_inputs_only_throw_DnsFormatException_and_stay_fast()
    {
        var rng = new Random(20240611);
        var q = new DnsMessage();
        q.Questions.Add(new DnsQuestion(Service, DnsRecordType.PTR));
        byte[][] seeds = [DnsCodec.Encode(SampleResponse()), DnsCodec.Encode(q)];
        var sw = Stopwatch.StartNew();
        int decoded = 0;
        for (int i = 0; i < 20_000; i++)
        {
            byte[] input;
            if (i % 4 == 0)
            {
                input = new byte[rng.Next(0, 600)];
                rng.NextBytes(input);
                if (input.Length >= 12 && rng.Next(2) == 0)
                {
                    input[4] = 0;
                    input[6] = 0;
                    input[8] = 0;
                    input[10] = 0; // small counts so the body actually gets parsed
                }
            }
            else
            {
                byte[] seed = seeds[rng.Next(seeds.Length)];
                input = (byte[])seed.Clone();
                int mutations = rng.Next(1, 6);
                for (int m = 0; m < mutations; m++)
                {
                    switch (rng.Next(4))
                    {
                        case 0: input[rng.Next(input.Length)] = (byte)rng.Next(256); break;
                        case 1: input[rng.Next(input.Length)] ^= (byte)(1 << rng.Next(8)); break;
                        case 2: input = input[..rng.Next(input.Length + 1)]; break;
                        default: input[rng.Next(input.Length)] = (byte)(0xC0 | rng.Next(4)); break;
                    }

                    if (input.Length == 0)
                    {
                        break;
                    }
                }
            }

            try
            {
                var msg = DnsCodec.Decode(input);
                decoded++;
                Assert.True(msg.Answers.Count + msg.Authorities.Count + msg.Additionals.Count <= DnsCodec.MaxTotalRecords);
            }
            catch (DnsFormatException)
            {
            }
        }

        Assert.True(decoded > 0, "some mutations should still decode");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"fuzz loop took {sw.Elapsed}");
    }
}
