using P2PNet.Core;

namespace P2PNet.Peers.Bootstrap;

/// <summary>How a <see cref="BootstrapChannel"/> talks to its server; every setting has a documented default.</summary>
public sealed record BootstrapChannelOptions
{
    /// <summary>The server's base URL, e.g. <c>https://bootstrap.example.org/</c>. Required.</summary>
    public required Uri ServerUrl { get; init; }

    /// <summary>The authority's PeerId the server must sign with; null accepts any (subject to the trust policy).</summary>
    public PeerId? PinnedAuthority { get; init; }

    /// <summary>Time between heartbeats (re-registration and a fresh peer query). Default 60 s.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Peers asked for per query. Default 20.</summary>
    public int MaxPeers { get; init; } = 20;

    /// <summary>Returned peers the client connects to when it has fewer open channels than this. Default 8 (0 turns auto-connect off).</summary>
    public int AutoConnectPeers { get; init; } = 8;

    /// <summary>Addresses to register; null registers the network's listen addresses (unspecified IPs replaced by the observed one).</summary>
    public IReadOnlyList<Multiaddr>? AdvertisedAddresses { get; init; }

    /// <summary>Time allowed for each request. Default 10 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Oldest (or furthest in the future) answer accepted, by its IssuedAt. Default 5 minutes.</summary>
    public TimeSpan AnswerMaxAge { get; init; } = TimeSpan.FromMinutes(5);
}
