namespace P2PNet.Protocols.Ping;

/// <summary>Why a ping failed.</summary>
public enum PingFailure
{
    /// <summary>No echo (or, when serving, no next ping) arrived in time.</summary>
    Timeout,

    /// <summary>The echo differed from the payload sent.</summary>
    Mismatch,

    /// <summary>The peer does not speak <see cref="PingProtocol.Id"/> (reported by whoever negotiates the stream).</summary>
    Unsupported,

    /// <summary>The stream ended before a full 32-byte payload arrived.</summary>
    Closed,
}
