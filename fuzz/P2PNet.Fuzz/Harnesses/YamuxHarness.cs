using P2PNet.Core;
using P2PNet.Muxers.Yamux;

namespace P2PNet.Fuzz.Harnesses;

/// <summary>
/// A yamux session fed a byte stream: every stream the peer opens is accepted, read to its end and answered,
/// as a node would. The session must end (cleanly, or faulted with a <see cref="YamuxException"/>) when the
/// input ends, and every stream task with it: anything else, or a hang, is a finding.
/// </summary>
internal static class YamuxHarness
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    // input[0]: bit 0 picks the client role (which also opens a stream), the rest sets the read size.
    public static async Task RunAsync(byte[] input)
    {
        if (input.Length == 0) return;
        bool isClient = (input[0] & 1) == 1;
        var session = new YamuxSession(new FuzzStream(input[1..], 1 + (input[0] >> 1) * 53), isClient,
            new YamuxOptions { MaxStreams = 16, AcceptBacklog = 4, InitialWindowSize = 256 * 1024 });
        var streams = new List<Task>();
        try
        {
            if (isClient)
            {
                try
                {
                    var opened = await session.OpenStreamAsync().AsTask().WaitAsync(Limit).ConfigureAwait(false);
                    streams.Add(ServeAsync(opened));
                }
                catch (IOException)
                {
                    // The session may already have failed on the input.
                }
            }
            var accepting = AcceptAllAsync(session, streams);
            try
            {
                await FuzzFailureException.WithinAsync(session.Completion, Limit, "yamux session").ConfigureAwait(false);
            }
            catch (YamuxException)
            {
            }
            await FuzzFailureException.WithinAsync(accepting, Limit, "yamux accept loop").ConfigureAwait(false);
        }
        finally
        {
            await FuzzFailureException.WithinAsync(session.DisposeAsync().AsTask(), Limit, "yamux dispose").ConfigureAwait(false);
        }
        await FuzzFailureException.WithinAsync(Task.WhenAll(streams), Limit, "yamux streams").ConfigureAwait(false);
    }

    private static async Task AcceptAllAsync(YamuxSession session, List<Task> streams)
    {
        try
        {
            while (await session.AcceptStreamAsync().ConfigureAwait(false) is { } stream) streams.Add(ServeAsync(stream));
        }
        catch (IOException)
        {
        }
    }

    private static async Task ServeAsync(MuxedStream stream)
    {
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                byte[] buffer = new byte[4096];
                int n;
                while ((n = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                    await stream.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                await stream.CloseWriteAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
                // Reset, or the session ended under the stream: both are how a bad peer is refused.
            }
        }
    }
}
