namespace P2PNet.Peers.Bootstrap;

/// <summary>How a <see cref="PublicIPv4GetPolicy"/> uses its URLs.</summary>
public enum PublicIPv4GetMode
{
    /// <summary>Ask one URL.</summary>
    SingleUrl,
    /// <summary>Ask the URLs in turn until one answers.</summary>
    Failover,
    /// <summary>Ask all URLs; an address is accepted when at least <see cref="PublicIPv4GetPolicy.Quorum"/> agree.</summary>
    Consensus,
}
