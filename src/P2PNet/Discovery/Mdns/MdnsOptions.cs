using System.Net;

namespace P2PNet.Discovery.Mdns;

/// <summary>Settings of <see cref="MdnsDiscovery"/>; the defaults are those of the libp2p mDNS spec and js-libp2p.</summary>
public sealed record MdnsOptions
{
    /// <summary>The DNS-SD service name queried and answered. Default <c>_p2p._udp.local</c> (libp2p).</summary>
    public string ServiceName { get; init; } = "_p2p._udp.local";

    /// <summary>The UDP port. Default 5353 (RFC 6762).</summary>
    public int Port { get; init; } = 5353;

    /// <summary>The IPv4 multicast group. Default 224.0.0.251 (RFC 6762).</summary>
    public IPAddress MulticastGroup { get; init; } = IPAddress.Parse("224.0.0.251");

    /// <summary>
    /// Also run over IPv6 (RFC 6762): join <see cref="MulticastGroupV6"/> on every selected interface with IPv6, and
    /// query, announce and answer there as well, so that an interface with only IPv6 is used too. Default true.
    /// </summary>
    public bool IPv6 { get; init; } = true;

    /// <summary>The IPv6 multicast group (link-local scope), used when <see cref="IPv6"/> is on. Default ff02::fb (RFC 6762).</summary>
    public IPAddress MulticastGroupV6 { get; init; } = IPAddress.Parse("ff02::fb");

    /// <summary>
    /// Pin discovery to one interface, by name (e.g. <c>lo</c>) or address; null uses every up interface with IPv4
    /// (or IPv6, when <see cref="IPv6"/> is on). Default null.
    /// </summary>
    public string? Interface { get; init; }

    /// <summary>Time between queries (one is also sent at start). Default 10 s (js-libp2p's default).</summary>
    public TimeSpan QueryInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Answer queries and announce ourselves at start; false only listens and queries. Default true.</summary>
    public bool Respond { get; init; } = true;

    /// <summary>The record TTL in seconds. Default 120 (libp2p spec).</summary>
    public uint Ttl { get; init; } = 120;

    /// <summary>Our DNS-SD instance label; null draws a random 32–63 character one at each start (libp2p spec).</summary>
    public string? PeerName { get; init; }

    /// <summary>Most addresses put in, or taken from, one peer's TXT record. Default 16.</summary>
    public int MaxAddressesPerPeer { get; init; } = 16;

    /// <summary>Most peers taken from one response. Default 16.</summary>
    public int MaxPeersPerResponse { get; init; } = 16;

    /// <summary>Datagrams accepted per second from one sender IP address; more are dropped undecoded. Default 20.</summary>
    public int MaxMessagesPerSecondPerSender { get; init; } = 20;

    /// <summary>Datagrams accepted per second in total; more are dropped undecoded. Default 400.</summary>
    public int MaxMessagesPerSecond { get; init; } = 400;

    /// <summary>Most senders tracked by the rate limiter. Default 1024.</summary>
    public int MaxTrackedSenders { get; init; } = 1024;
}
