using System.Diagnostics;
using System.Security.Cryptography;

namespace P2PNet.Protocols.Ping;

/// <summary>
/// The libp2p ping protocol (<c>/ipfs/ping/1.0.0</c>) as pure I/O over an already-negotiated stream: the
/// dialer writes 32 random bytes and times their echo; the listener echoes payloads until the stream ends.
/// Negotiating, half-closing and disposing the stream are the caller's job.
/// </summary>
public static class PingProtocol
{
    /// <summary>The protocol id.</summary>
    public const string Id = "/ipfs/ping/1.0.0";

    /// <summary>Size of every ping payload, fixed by the spec.</summary>
    public const int PayloadSize = 32;

    /// <summary>Sends one ping and returns the round-trip time; no timeout beyond <paramref name="cancellationToken"/>.</summary>
    public static Task<TimeSpan> PingOnceAsync(Stream stream, CancellationToken cancellationToken = default) =>
        PingOnceCoreAsync(stream, null, cancellationToken);

    /// <summary>
    /// Sends one ping and returns the round-trip time. Throws <see cref="PingException"/>: Timeout after
    /// <see cref="PingOptions.Timeout"/>, Mismatch for a wrong echo, Closed when the stream ends. After a
    /// timeout the stream is in an unknown state and should be reset.
    /// </summary>
    public static Task<TimeSpan> PingOnceAsync(Stream stream, PingOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return PingOnceCoreAsync(stream, options.Timeout, cancellationToken);
    }

    /// <summary>Echoes pings until the stream ends, with the <see cref="PingOptions.Default"/> limits.</summary>
    public static Task ServeAsync(Stream stream, CancellationToken cancellationToken = default) =>
        ServeAsync(stream, PingOptions.Default, cancellationToken);

    /// <summary>
    /// Echoes 32-byte payloads until the remote half-closes (returns normally), at most
    /// <see cref="PingOptions.MaxPingsPerStream"/> of them. Throws <see cref="PingException"/>: Timeout when
    /// no ping arrives within <see cref="PingOptions.IdleTimeout"/>, Closed when the stream ends mid-payload.
    /// </summary>
    public static async Task ServeAsync(Stream stream, PingOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(options);
        byte[] payload = new byte[PayloadSize];
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        for (long served = 0; options.MaxPingsPerStream is not { } max || served < max; served++)
        {
            idle.CancelAfter(options.IdleTimeout);
            int read;
            try
            {
                read = await stream.ReadAtLeastAsync(payload, PayloadSize, throwOnEndOfStream: false, idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new PingException(PingFailure.Timeout, $"no ping within {options.IdleTimeout}", ex);
            }
            if (read == 0) return;
            if (read < PayloadSize) throw new PingException(PingFailure.Closed, "the stream ended inside a ping payload");
            await stream.WriteAsync(payload, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<TimeSpan> PingOnceCoreAsync(Stream stream, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] buffer = new byte[2 * PayloadSize];
        Memory<byte> sent = buffer.AsMemory(0, PayloadSize);
        Memory<byte> echo = buffer.AsMemory(PayloadSize, PayloadSize);
        RandomNumberGenerator.Fill(sent.Span);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t) deadline.CancelAfter(t);
        long start = Stopwatch.GetTimestamp();
        int read;
        try
        {
            await stream.WriteAsync(sent, deadline.Token).ConfigureAwait(false);
            await stream.FlushAsync(deadline.Token).ConfigureAwait(false);
            read = await stream.ReadAtLeastAsync(echo, PayloadSize, throwOnEndOfStream: false, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PingException(PingFailure.Timeout, $"no echo within {timeout}", ex);
        }
        TimeSpan rtt = Stopwatch.GetElapsedTime(start);
        if (read < PayloadSize) throw new PingException(PingFailure.Closed, "the stream ended before the echo arrived");
        if (!sent.Span.SequenceEqual(echo.Span)) throw new PingException(PingFailure.Mismatch, "the echoed payload differs from the one sent");
        return rtt;
    }
}
