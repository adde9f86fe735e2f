namespace P2PNet.Transports.Tcp;

/// <summary>TCP transport settings.</summary>
public sealed record TcpTransportOptions
{
    /// <summary>Time allowed for a TCP connect. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Listen backlog. Default 512.</summary>
    public int Backlog { get; init; } = 512;
}
