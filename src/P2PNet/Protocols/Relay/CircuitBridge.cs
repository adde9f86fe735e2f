using System.Buffers;
using P2PNet.Core;

namespace P2PNet.Protocols.Relay;

// Copies bytes both ways between the source's hop stream and the target's stop stream. A half-close is passed
// on; at the duration or data limit (or when either side breaks) both streams are reset, which is what tells
// both ends the circuit is over (the spec has no message for it). The data limit lets exactly that many bytes
// through in each direction; the end that received them then gets a FIN (a reset would make it drop the bytes
// still in its buffers, and with them the count that tells it the limit was reached), and once the other end
// has closed in turn, or after a grace period, both streams are reset.
internal static class CircuitBridge
{
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);

    public static async Task<CircuitOutcome> RunAsync(MuxedStream a, MuxedStream b, RelayLimit? limit, int bufferSize, Action<long> relayed, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        ulong? data = limit?.Data;
        var ab = PumpAsync(a, b, data, bufferSize, relayed, cts.Token);
        var ba = PumpAsync(b, a, data, bufferSize, relayed, cts.Token);
        var timer = limit?.Duration is { } d ? Task.Delay(d, cts.Token) : Task.Delay(Timeout.Infinite, cts.Token);
        var outcome = CircuitOutcome.Closed;
        Task<CircuitOutcome>? limited = null;
        var pending = new List<Task> { ab, ba, timer };
        try
        {
            while (pending.Contains(ab) || pending.Contains(ba))
            {
                var done = await Task.WhenAny(pending).ConfigureAwait(false);
                pending.Remove(done);
                if (done == timer)
                {
                    outcome = ct.IsCancellationRequested ? CircuitOutcome.Reset : CircuitOutcome.DurationLimit;
                    break;
                }
                var result = await ((Task<CircuitOutcome>)done).ConfigureAwait(false);
                if (result != CircuitOutcome.Closed)
                {
                    outcome = result;
                    if (result == CircuitOutcome.DataLimit) limited = (Task<CircuitOutcome>)done;
                    break;
                }
            }
        }
        finally
        {
            if (limited is not null)
            {
                try
                {
                    await (limited == ab ? b : a).CloseWriteAsync(ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
                {
                }
                await Task.WhenAny(limited == ab ? ba : ab, Task.Delay(DrainGrace, ct)).ConfigureAwait(false);
            }
            if (outcome != CircuitOutcome.Closed)
            {
                a.Reset();
                b.Reset();
            }
            await cts.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(ab, ba).ConfigureAwait(false); // pumps never throw
            try
            {
                await timer.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        return outcome;
    }

    // Holds its pooled buffer only while bytes are there: a zero-byte read waits for them first (yamux streams
    // support it), so an idle circuit holds no buffer.
    private static async Task<CircuitOutcome> PumpAsync(MuxedStream from, MuxedStream to, ulong? limit, int bufferSize, Action<long> relayed, CancellationToken ct)
    {
        await Task.Yield();
        ulong total = 0;
        try
        {
            while (true)
            {
                await from.ReadAsync(Memory<byte>.Empty, ct).ConfigureAwait(false);
                byte[] buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
                try
                {
                    int n = await from.ReadAsync(buffer.AsMemory(0, bufferSize), ct).ConfigureAwait(false);
                    if (n == 0)
                    {
                        await to.CloseWriteAsync(ct).ConfigureAwait(false);
                        return CircuitOutcome.Closed;
                    }
                    if (limit is { } max && total + (ulong)n > max)
                    {
                        int allowed = (int)(max - total);
                        if (allowed > 0)
                        {
                            await to.WriteAsync(buffer.AsMemory(0, allowed), ct).ConfigureAwait(false);
                            await to.FlushAsync(ct).ConfigureAwait(false);
                            relayed(allowed);
                        }
                        return CircuitOutcome.DataLimit;
                    }
                    total += (ulong)n;
                    await to.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                    await to.FlushAsync(ct).ConfigureAwait(false);
                    relayed(n);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (Exception)
        {
            // A reset, a dead connection, or our own cancellation: the bridge resets both sides.
            return CircuitOutcome.Reset;
        }
    }
}
