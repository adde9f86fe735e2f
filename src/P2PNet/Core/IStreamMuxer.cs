namespace P2PNet.Core;

/// <summary>A stream multiplexer session over one secured connection.</summary>
public interface IStreamMuxer : IAsyncDisposable
{
    /// <summary>Opens a new outbound stream.</summary>
    ValueTask<MuxedStream> OpenStreamAsync(CancellationToken cancellationToken = default);

    /// <summary>Waits for the next inbound stream; returns null once the session has ended.</summary>
    ValueTask<MuxedStream?> AcceptStreamAsync(CancellationToken cancellationToken = default);

    /// <summary>Completes when the session ends (remote go-away, error, or disposal).</summary>
    Task Completion { get; }

    /// <summary>Measures the round-trip time with a muxer-level ping.</summary>
    ValueTask<TimeSpan> PingAsync(CancellationToken cancellationToken = default);
}
