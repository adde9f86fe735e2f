using System.Net;

namespace P2PNet.Protocols.Dcutr;

/// <summary>Settings of the <see cref="DcutrService"/>. Defaults follow the spec and go-libp2p's holepunch.</summary>
public sealed record DcutrOptions
{
    /// <summary>Defaults.</summary>
    public static DcutrOptions Default { get; } = new();

    /// <summary>
    /// Address ranges treated as public although they are private or special-use: only public addresses are sent in
    /// CONNECT and dialed. Empty by default; labs list their "internet" (e.g. 198.18.0.0/15).
    /// </summary>
    public IReadOnlyList<IPNetwork> PublicCidrs { get; init; } = [];

    /// <summary>Hole-punch attempts (CONNECT, SYNC and dials) on one relayed connection before the relay stays. Default 3 (the spec).</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Time allowed for each message of the exchange. Default 10 s.</summary>
    public TimeSpan StreamTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Time allowed for the dials of one attempt (connect and handshake), which covers two SYN retransmissions.
    /// Default 5 s.
    /// </summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Pause between a failed attempt and the next one. Default 200 ms.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long to wait for a first public address of our own (observed by a peer, typically the relay) before a
    /// CONNECT is sent anyway. Default 3 s.
    /// </summary>
    public TimeSpan AddressWait { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The dialer of a relayed connection (DCUtR's A) waits this long for the peer to start a hole punch, and again
    /// after each failed attempt for the next, before it reports the hole punch failed. Default 15 s.
    /// </summary>
    public TimeSpan PeerStartTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Most of our addresses sent in one CONNECT and most of the peer's dialed. Default 8.</summary>
    public int MaxAddresses { get; init; } = 8;
}
