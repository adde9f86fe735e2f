using System.Net;
using System.Security.Cryptography;
using P2PNet.Core;

namespace P2PNet.Discovery.Mdns;

/// <summary>
/// The libp2p mDNS messages (specs/discovery/mdns.md), without sockets: a PTR query for the service, and a
/// response with a PTR to <c>&lt;peer-name&gt;.&lt;service&gt;</c> plus TXT strings <c>dnsaddr=&lt;multiaddr&gt;/p2p/&lt;id&gt;</c>
/// (and SRV/A/AAAA for DNS-SD browsers). Parsing is lenient about where the TXT sits (js-libp2p puts it in
/// answers, the spec in additionals) and strict about what it holds.
/// </summary>
internal static class MdnsRecords
{
    private const string DnsAddrPrefix = "dnsaddr=";
    private const int MaxTxtString = 255;
    private const string PeerNameAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    /// <summary>A random DNS-SD instance label of 32 to 63 characters (the spec's peer name).</summary>
    public static string NewPeerName() => RandomNumberGenerator.GetString(PeerNameAlphabet, 32 + RandomNumberGenerator.GetInt32(32));

    /// <summary>The query: one PTR question for <paramref name="serviceName"/>.</summary>
    public static DnsMessage Query(string serviceName)
    {
        var message = new DnsMessage();
        message.Questions.Add(new DnsQuestion(serviceName, DnsRecordType.PTR));
        return message;
    }

    /// <summary>True when <paramref name="query"/> asks for <paramref name="serviceName"/> (PTR or ANY).</summary>
    public static bool AsksFor(DnsMessage query, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(query);
        return !query.IsResponse && query.Questions.Any(q => q.Type is DnsRecordType.PTR or DnsRecordType.ANY
            && string.Equals(q.Name, serviceName, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Our response: PTR (answer), then TXT with one <c>dnsaddr=</c> string per address, SRV and A/AAAA
    /// (additionals). Addresses whose text would exceed a TXT string (255 bytes) are left out.
    /// </summary>
    public static DnsMessage Response(string serviceName, string peerName, PeerId self, IEnumerable<Multiaddr> addresses, uint ttl, int maxAddresses)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(addresses);
        string instance = peerName + "." + serviceName;
        var listed = addresses.Select(a => a.WithoutPeerId()).Distinct().Take(maxAddresses).ToList();
        var strings = listed.Select(a => DnsAddrPrefix + a.WithPeerId(self)).Where(s => System.Text.Encoding.UTF8.GetByteCount(s) <= MaxTxtString).ToList();
        var message = new DnsMessage { IsResponse = true, IsAuthoritative = true };
        message.Answers.Add(new DnsRecord(serviceName, new DnsPtrData(instance), ttl));
        message.Additionals.Add(new DnsRecord(instance, new DnsTxtData(strings), ttl, cacheFlush: true));
        if (listed.Select(a => a.TcpTarget).FirstOrDefault(t => t is not null) is { } tcp)
        {
            string host = peerName + ".local";
            message.Additionals.Add(new DnsRecord(instance, new DnsSrvData(0, 0, (ushort)tcp.Port, host), ttl, cacheFlush: true));
            foreach (var ip in listed.Select(a => a.ToIPEndPoint()?.Address).OfType<IPAddress>().Distinct())
            {
                message.Additionals.Add(new DnsRecord(host, new DnsAddressData(ip), ttl, cacheFlush: true));
            }
        }
        return message;
    }

    /// <summary>
    /// The peers a response announces for <paramref name="serviceName"/>: for each PTR to an instance other than
    /// <paramref name="ownPeerName"/>, the instance's <c>dnsaddr=</c> strings. Each must parse, end in
    /// <c>/p2p/&lt;id&gt;</c> and agree on the id; the addresses come back without it. Entries that break a rule are
    /// skipped and described in <paramref name="problems"/>.
    /// </summary>
    public static IReadOnlyList<(PeerId PeerId, IReadOnlyList<Multiaddr> Addresses)> Peers(DnsMessage response, string serviceName,
        string? ownPeerName, int maxPeers, int maxAddresses, out IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(response);
        var found = new List<(PeerId, IReadOnlyList<Multiaddr>)>();
        var trouble = new List<string>();
        problems = trouble;
        if (!response.IsResponse) return found;
        var instances = response.Answers
            .Where(r => r.Data is DnsPtrData && string.Equals(r.Name, serviceName, StringComparison.OrdinalIgnoreCase))
            .Select(r => ((DnsPtrData)r.Data).Target)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        foreach (string instance in instances)
        {
            if (found.Count >= maxPeers) { trouble.Add($"more than {maxPeers} peers in one response"); break; }
            if (ownPeerName is not null && instance.StartsWith(ownPeerName + ".", StringComparison.OrdinalIgnoreCase)) continue;
            var texts = response.Answers.Concat(response.Additionals)
                .Where(r => r.Data is DnsTxtData && string.Equals(r.Name, instance, StringComparison.OrdinalIgnoreCase))
                .SelectMany(r => ((DnsTxtData)r.Data).Strings)
                .Where(s => s.StartsWith(DnsAddrPrefix, StringComparison.Ordinal))
                .ToList();
            if (texts.Count == 0) { trouble.Add($"{instance}: no dnsaddr TXT string"); continue; }
            PeerId? peer = null;
            var addresses = new List<Multiaddr>();
            string? bad = null;
            foreach (string text in texts.Take(maxAddresses))
            {
                if (!Multiaddr.TryParse(text[DnsAddrPrefix.Length..], out var address)) { bad = $"unparsable multiaddr '{Clip(text)}'"; break; }
                if (address.PeerId is not { } id) { bad = $"'{Clip(text)}' has no /p2p/ PeerId"; break; }
                if (peer is not null && peer != id) { bad = "TXT strings name different PeerIds"; break; }
                peer = id;
                addresses.Add(address.WithoutPeerId());
            }
            if (bad is not null) { trouble.Add($"{instance}: {bad}"); continue; }
            found.Add((peer!, addresses.Distinct().ToList()));
        }
        return found;
    }

    private static string Clip(string text) => text.Length <= 80 ? text : text[..80] + "…";
}
