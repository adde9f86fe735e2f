using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using P2PNet.Core;

namespace P2PNet.Protocols.Perf;

/// <summary>
/// The libp2p perf protocol (<c>/perf/1.0.0</c>, libp2p/specs perf/perf.md) as pure I/O over a negotiated
/// stream: the client writes a big-endian u64 saying how many bytes it wants back, uploads its bytes and
/// half-closes; the server drains the upload, sends the asked-for bytes and half-closes. Opening and disposing
/// the stream are the caller's job.
/// </summary>
public static class PerfProtocol
{
    /// <summary>The protocol id.</summary>
    public const string Id = "/perf/1.0.0";

    /// <summary>Size of the request header: the u64 download size.</summary>
    public const int HeaderSize = 8;

    /// <summary>
    /// Runs one measurement as the client: uploads <paramref name="uploadBytes"/>, half-closes, then reads
    /// <paramref name="downloadBytes"/>. Throws <see cref="PerfException"/>: Closed when fewer bytes come back,
    /// Timeout when nothing moves for <see cref="PerfOptions.IdleTimeout"/>.
    /// </summary>
    public static async Task<PerfResult> RunAsync(MuxedStream stream, ulong uploadBytes, ulong downloadBytes, PerfOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= PerfOptions.Default;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(options.BufferSize, HeaderSize));
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            long start = Stopwatch.GetTimestamp();
            BinaryPrimitives.WriteUInt64BigEndian(buffer, downloadBytes);
            idle.CancelAfter(options.IdleTimeout);
            await stream.WriteAsync(buffer.AsMemory(0, HeaderSize), idle.Token).ConfigureAwait(false);
            Array.Clear(buffer, 0, HeaderSize);
            for (ulong left = uploadBytes; left > 0;)
            {
                int n = (int)Math.Min(left, (ulong)options.BufferSize);
                idle.CancelAfter(options.IdleTimeout);
                await stream.WriteAsync(buffer.AsMemory(0, n), idle.Token).ConfigureAwait(false);
                left -= (ulong)n;
            }
            await stream.FlushAsync(idle.Token).ConfigureAwait(false);
            await stream.CloseWriteAsync(idle.Token).ConfigureAwait(false);
            TimeSpan uploadTime = Stopwatch.GetElapsedTime(start);

            long downloadStart = Stopwatch.GetTimestamp();
            ulong received = 0;
            while (true)
            {
                idle.CancelAfter(options.IdleTimeout);
                int read = await stream.ReadAsync(buffer.AsMemory(0, options.BufferSize), idle.Token).ConfigureAwait(false);
                if (read == 0) break;
                received += (ulong)read;
                if (received > downloadBytes) throw new PerfException(PerfFailure.TooLarge, $"the server sent more than the {downloadBytes} bytes asked for");
            }
            TimeSpan downloadTime = Stopwatch.GetElapsedTime(downloadStart);
            if (received != downloadBytes)
                throw new PerfException(PerfFailure.Closed, $"the server sent {received} of the {downloadBytes} bytes asked for");
            return new PerfResult(uploadBytes, uploadTime, received, downloadTime);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PerfException(PerfFailure.Timeout, $"no bytes moved within {options.IdleTimeout}", ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Serves one perf stream: reads the request, drains the upload until the client half-closes, sends the
    /// asked-for bytes and half-closes. Returns the (uploaded, sent) byte counts. Throws <see cref="PerfException"/>
    /// for a short header (Closed), a request or upload over the limits (TooLarge) or an idle stream (Timeout).
    /// </summary>
    public static async Task<(ulong Received, ulong Sent)> ServeAsync(MuxedStream stream, PerfOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= PerfOptions.Default;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(options.BufferSize, HeaderSize));
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            idle.CancelAfter(options.IdleTimeout);
            int got = await stream.ReadAtLeastAsync(buffer.AsMemory(0, HeaderSize), HeaderSize, throwOnEndOfStream: false, idle.Token).ConfigureAwait(false);
            if (got < HeaderSize) throw new PerfException(PerfFailure.Closed, "the stream ended inside the 8-byte perf request");
            ulong toSend = BinaryPrimitives.ReadUInt64BigEndian(buffer);
            if (toSend > options.MaxSendBytes)
                throw new PerfException(PerfFailure.TooLarge, $"the client asked for {toSend} bytes, more than the {options.MaxSendBytes} allowed");

            ulong received = 0;
            while (true)
            {
                idle.CancelAfter(options.IdleTimeout);
                int read = await stream.ReadAsync(buffer.AsMemory(0, options.BufferSize), idle.Token).ConfigureAwait(false);
                if (read == 0) break;
                received += (ulong)read;
                if (received > options.MaxReceiveBytes)
                    throw new PerfException(PerfFailure.TooLarge, $"the client uploaded more than the {options.MaxReceiveBytes} bytes allowed");
            }

            Array.Clear(buffer, 0, options.BufferSize);
            for (ulong left = toSend; left > 0;)
            {
                int n = (int)Math.Min(left, (ulong)options.BufferSize);
                idle.CancelAfter(options.IdleTimeout);
                await stream.WriteAsync(buffer.AsMemory(0, n), idle.Token).ConfigureAwait(false);
                left -= (ulong)n;
            }
            await stream.FlushAsync(idle.Token).ConfigureAwait(false);
            await stream.CloseWriteAsync(idle.Token).ConfigureAwait(false);
            return (received, toSend);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PerfException(PerfFailure.Timeout, $"no bytes moved within {options.IdleTimeout}", ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
