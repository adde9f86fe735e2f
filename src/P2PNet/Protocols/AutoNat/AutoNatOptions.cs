using System.Net;

namespace P2PNet.Protocols.AutoNat;

/// <summary>Settings of the <see cref="AutoNatService"/>: the server's limits and the client's schedule. Defaults follow go-libp2p.</summary>
public sealed record AutoNatOptions
{
    /// <summary>
    /// Address ranges treated as public although they are private or special-use (RFC 1918, loopback, 198.18.0.0/15,
    /// …): a server dials them back and a client asks about them. Empty by default, so only global unicast addresses
    /// are tested. Labs list their "internet" here (e.g. 198.18.0.0/15); loopback tests list 127.0.0.0/8.
    /// </summary>
    public IReadOnlyList<IPNetwork> PublicCidrs { get; init; } = [];

    /// <summary>Serve <c>/libp2p/autonat/2/dial-request</c> (dial peers back on request). Default true.</summary>
    public bool EnableServer { get; init; } = true;

    /// <summary>Test our own addresses with connected AutoNAT servers and maintain <see cref="AutoNatService.Reachability"/>. Default true.</summary>
    public bool EnableClient { get; init; } = true;

    /// <summary>Dial requests served per minute, all peers together. Default 60.</summary>
    public int ServerRequestsPerMinute { get; init; } = 60;

    /// <summary>Dial requests served per minute for one peer. Default 12.</summary>
    public int ServerRequestsPerPeerPerMinute { get; init; } = 12;

    /// <summary>Requests that need dial data (amplification guard) served per minute. Default 12.</summary>
    public int ServerDialDataRequestsPerMinute { get; init; } = 12;

    /// <summary>Dial requests of one peer served at the same time. Default 2.</summary>
    public int ServerMaxConcurrentPerPeer { get; init; } = 2;

    /// <summary>
    /// After dial data arrived, the server waits a random time up to this before dialing, so that many servers
    /// asked at once do not hit one victim together. Default 3 s (go-libp2p); tests use zero.
    /// </summary>
    public TimeSpan AmplificationDialDelay { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Time allowed for a whole dial-request exchange, either side. Default 15 s.</summary>
    public TimeSpan StreamTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Time the server allows its dial back (connect and handshake). Default 10 s.</summary>
    public TimeSpan DialBackTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time allowed for the dial-back stream (the nonce and its answer), and how long a client waits for it. Default 5 s.</summary>
    public TimeSpan DialBackStreamTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether the client pays the dial data a server asks for (up to <see cref="AutoNatProtocol.MaxDialDataBytes"/>). Default true.</summary>
    public bool SendDialData { get; init; } = true;

    /// <summary>Most of our addresses tested in one round. Default 8.</summary>
    public int MaxAddressesPerRound { get; init; } = 8;

    /// <summary>Most AutoNAT servers asked about each address. Default 5.</summary>
    public int MaxServers { get; init; } = 5;

    /// <summary>How long one server's answer about one address stays valid before it is asked again. Default 10 min.</summary>
    public TimeSpan RecheckInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long the client waits after a change (a server connected, an address appeared) before a round, so that a
    /// burst of changes makes one round. Default 250 ms.
    /// </summary>
    public TimeSpan ChangeDebounce { get; init; } = TimeSpan.FromMilliseconds(250);
}
