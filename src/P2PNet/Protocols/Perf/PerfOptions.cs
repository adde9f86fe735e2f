namespace P2PNet.Protocols.Perf;

/// <summary>Limits of the perf protocol, for the measuring and the serving side.</summary>
public sealed record PerfOptions
{
    /// <summary>Defaults: 30 s idle allowance, 64 KiB writes, at most 16 GiB sent or received per served stream.</summary>
    public static PerfOptions Default { get; } = new();

    /// <summary>How long a stream may move no bytes before the run fails (serving or measuring).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Size of each write and read buffer; the spec leaves it open, 64 KiB matches go and nim.</summary>
    public int BufferSize { get; init; } = 64 * 1024;

    /// <summary>Most bytes a served stream may ask us to send back; a larger request closes the stream unanswered.</summary>
    public ulong MaxSendBytes { get; init; } = 16UL << 30;

    /// <summary>Most bytes a served stream may upload to us before it is reset.</summary>
    public ulong MaxReceiveBytes { get; init; } = 16UL << 30;
}
