namespace P2PNet.Muxers.Yamux;

/// <summary>Tunables of a yamux session. All limits are per session unless stated.</summary>
public sealed record YamuxOptions
{
    /// <summary>Default options.</summary>
    public static YamuxOptions Default { get; } = new();

    /// <summary>
    /// Receive window per stream in bytes (default 256 KiB, the spec's initial window; larger values are announced
    /// to the remote with a window update on SYN/ACK). Minimum 256 KiB. The window then grows by auto-tuning up to
    /// <see cref="MaxWindowSize"/>; a stream never buffers more than its current window.
    /// </summary>
    public int InitialWindowSize { get; init; } = YamuxFrameHeader.DefaultWindow;

    /// <summary>Largest payload of one outgoing data frame (default 64 KiB; bigger writes are split).</summary>
    public int MaxDataFrameSize { get; init; } = 64 * 1024;

    /// <summary>Most concurrently open inbound streams (default 256); further SYNs are answered with RST.</summary>
    public int MaxStreams { get; init; } = 256;

    /// <summary>
    /// Inbound streams expected to wait for <see cref="YamuxSession.AcceptStreamAsync"/> at most (default 64). Past it
    /// new streams are still held, unacknowledged, up to <see cref="MaxStreams"/> (the remote's ACK backlog throttles it
    /// meanwhile) rather than reset; the session logs once that accepting lags.
    /// </summary>
    public int AcceptBacklog { get; init; } = 64;

    /// <summary>Most outbound streams not yet acknowledged by the remote (default 256, per the libp2p spec); opening more waits.</summary>
    public int MaxAckBacklog { get; init; } = 256;

    /// <summary>Capacity in frames of the outgoing data queue (default 256); writers wait when it is full.</summary>
    public int WriteQueueCapacity { get; init; } = 256;

    /// <summary>Most queued control frames (pongs, window updates, resets) before the session fails as overloaded (default 4096).</summary>
    public int MaxPendingControlFrames { get; init; } = 4096;

    /// <summary>Interval of keep-alive pings; null (default) disables keep-alive.</summary>
    public TimeSpan? KeepAliveInterval { get; init; }

    /// <summary>How long a keep-alive ping may stay unanswered before the session fails (default 30 s).</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long <see cref="YamuxSession.DisposeAsync"/> waits to flush queued frames and go-away (default 5 s).</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Largest receive window a stream's auto-tuning may grant (default 4 MiB). A stream's window doubles when its
    /// reader consumed half of it within four round trips of the previous window update (go-yamux's rule): then the
    /// window, not the reader, set the pace, as on a link whose bandwidth-delay product exceeds it (256 KiB over a
    /// 100 ms round trip caps a stream at 2.6 MB/s; 4 MiB at 42 MB/s). The round trip is the session's last ping,
    /// measured once when a stream first sends a window update. go-yamux and js-libp2p allow 16 MiB; here 4 MiB
    /// moved bulk as fast on loopback with less CPU, because a sender never runs more than 4 MiB ahead of its reader.
    /// Raise it for long fat links; equal to <see cref="InitialWindowSize"/> (or less) turns auto-tuning off. The
    /// host's buffered-bytes limits still bound what all streams hold together.
    /// </summary>
    public int MaxWindowSize { get; init; } = 4 * 1024 * 1024;

    internal void Validate()
    {
        if (InitialWindowSize < YamuxFrameHeader.DefaultWindow) throw new ArgumentOutOfRangeException(nameof(InitialWindowSize), "must be at least 256 KiB");
        if (MaxWindowSize < YamuxFrameHeader.DefaultWindow) throw new ArgumentOutOfRangeException(nameof(MaxWindowSize), "must be at least 256 KiB");
        if (MaxDataFrameSize < 1024) throw new ArgumentOutOfRangeException(nameof(MaxDataFrameSize), "must be at least 1 KiB");
        if (MaxStreams < 1) throw new ArgumentOutOfRangeException(nameof(MaxStreams));
        if (AcceptBacklog < 1) throw new ArgumentOutOfRangeException(nameof(AcceptBacklog));
        if (MaxAckBacklog < 1) throw new ArgumentOutOfRangeException(nameof(MaxAckBacklog));
        if (WriteQueueCapacity < 1) throw new ArgumentOutOfRangeException(nameof(WriteQueueCapacity));
        if (MaxPendingControlFrames < 16) throw new ArgumentOutOfRangeException(nameof(MaxPendingControlFrames));
        if (KeepAliveInterval is { } k && k <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(KeepAliveInterval));
        if (KeepAliveTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(KeepAliveTimeout));
        if (CloseTimeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(CloseTimeout));
    }
}
