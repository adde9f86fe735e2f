namespace P2PNet.Transports.Tcp;

/// <summary>TCP transport settings.</summary>
public sealed record TcpTransportOptions
{
    /// <summary>Time allowed for a TCP connect. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Listen backlog. Default 512.</summary>
    public int Backlog { get; init; } = 512;

    /// <summary>
    /// Port reuse (Linux and macOS): listeners and dials set SO_REUSEADDR and SO_REUSEPORT, and a dial goes out from
    /// the port of one of this transport's listeners (of the dialed address family; a loopback listener only for a
    /// loopback target), so the mapping a NAT gives the dial is the address peers observe and can dial back, as
    /// hole punching needs. A dial that cannot use the listen port (that exact connection exists already, the
    /// port is in TIME_WAIT towards that peer) falls back to an ephemeral port. A listener still refuses a port
    /// another socket holds. Default true; ignored on other systems.
    /// </summary>
    public bool PortReuse { get; init; } = true;
}
