namespace P2PNet.Protocols.Perf;

/// <summary>Why a perf run failed.</summary>
public enum PerfFailure
{
    /// <summary>No bytes moved within <see cref="PerfOptions.IdleTimeout"/>.</summary>
    Timeout,

    /// <summary>The stream ended before the 8-byte request, or before all requested bytes came back.</summary>
    Closed,

    /// <summary>The request asked for more than <see cref="PerfOptions.MaxSendBytes"/> or uploaded more than <see cref="PerfOptions.MaxReceiveBytes"/>.</summary>
    TooLarge,
}
