namespace P2PNet.Muxers.Yamux;

/// <summary>Why a yamux session or stream failed.</summary>
public enum YamuxError
{
    /// <summary>The remote broke the framing or state rules (e.g. a ping or go-away on a non-zero stream id).</summary>
    ProtocolError,

    /// <summary>A frame header carried a version other than 0.</summary>
    BadVersion,

    /// <summary>A frame header carried a type outside Data, WindowUpdate, Ping, GoAway.</summary>
    UnknownType,

    /// <summary>The remote opened a stream with id 0 or with the wrong parity (client odd, server even).</summary>
    InvalidStreamId,

    /// <summary>A frame without SYN addressed a stream id that was never opened.</summary>
    UnknownStream,

    /// <summary>The remote sent SYN for a stream id that is still open.</summary>
    DuplicateStream,

    /// <summary>A data frame was larger than the remaining receive window of its stream.</summary>
    WindowOverrun,

    /// <summary>The stream was reset (RST) by either side.</summary>
    StreamReset,

    /// <summary>The local side already closed the stream for writing.</summary>
    StreamClosed,

    /// <summary>The session has ended (disposed, connection closed, or failed).</summary>
    SessionClosed,

    /// <summary>The remote sent go-away: it accepts no new streams, or ended the session with an error code.</summary>
    RemoteGoAway,

    /// <summary>The underlying connection failed with an I/O error.</summary>
    ConnectionLost,

    /// <summary>A keep-alive ping was not answered in time.</summary>
    KeepAliveTimeout,

    /// <summary>The remote queued more control replies (pongs, resets) than the bound allows without reading them.</summary>
    Overloaded,

    /// <summary>An unexpected local failure.</summary>
    InternalError,
}
