namespace P2PNet.Protocols.Identify;

/// <summary>Settings of the <see cref="IdentifyService"/>.</summary>
public sealed record IdentifyOptions
{
    /// <summary>Our protocol version string. Default <c>ipfs/0.1.0</c>, as libp2p peers expect.</summary>
    public string ProtocolVersion { get; init; } = IdentifyProtocol.DefaultProtocolVersion;

    /// <summary>Our agent string. Default <c>p2pnet/VERSION</c>.</summary>
    public string AgentVersion { get; init; } = "p2pnet/" + (typeof(IdentifyOptions).Assembly.GetName().Version?.ToString(3) ?? "0.1.0");

    /// <summary>Time allowed for one identify exchange. Default 10 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Identify every new connection as soon as it opens. Default true.</summary>
    public bool IdentifyOnConnect { get; init; } = true;

    /// <summary>Send an identify push to every connected peer when our protocols or addresses change. Default true.</summary>
    public bool PushOnChange { get; init; } = true;

    /// <summary>How long changes are gathered before one push goes out. Default 100 ms.</summary>
    public TimeSpan PushDebounce { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Least time between the starts of two push rounds, on top of <see cref="PushDebounce"/>: changes that keep
    /// coming (a flapping interface, observed addresses confirmed and lost) still send at most one round per
    /// interval. Default 1 s.
    /// </summary>
    public TimeSpan MinPushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Most pushes in flight at once. Default 16.</summary>
    public int MaxConcurrentPushes { get; init; } = 16;
}
