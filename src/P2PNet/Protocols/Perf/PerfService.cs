using P2PNet.Swarm;

namespace P2PNet.Protocols.Perf;

/// <summary>
/// Perf on a <see cref="SwarmHost"/>: serves <c>/perf/1.0.0</c> streams and measures connections.
/// Creating it registers the handler; a stream that breaks the limits is reset (the host logs handler failures).
/// </summary>
public sealed class PerfService
{
    private readonly PerfOptions _options;

    /// <summary>Registers the perf handler on <paramref name="host"/>.</summary>
    public PerfService(SwarmHost host, PerfOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        _options = options ?? PerfOptions.Default;
        host.SetStreamHandler(PerfProtocol.Id, (stream, _, ct) => PerfProtocol.ServeAsync(stream, _options, ct));
    }

    /// <summary>Uploads <paramref name="uploadBytes"/> then downloads <paramref name="downloadBytes"/> on a new stream.</summary>
    /// <exception cref="PerfException">The peer stalls or answers short.</exception>
    public async Task<PerfResult> RunAsync(Connection connection, ulong uploadBytes, ulong downloadBytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var stream = await connection.OpenStreamAsync(PerfProtocol.Id, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await PerfProtocol.RunAsync(stream, uploadBytes, downloadBytes, _options, cancellationToken).ConfigureAwait(false);
        }
    }
}
