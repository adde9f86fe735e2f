using P2PNet.Swarm;

namespace P2PNet.Protocols.Ping;

/// <summary>
/// Ping on a <see cref="SwarmHost"/>: answers <c>/ipfs/ping/1.0.0</c> streams and pings connections.
/// Creating it registers the handler.
/// </summary>
public sealed class PingService
{
    private readonly PingOptions _options;

    /// <summary>Registers the ping handler on <paramref name="host"/>.</summary>
    public PingService(SwarmHost host, PingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        _options = options ?? PingOptions.Default;
        host.SetStreamHandler(PingProtocol.Id, (stream, _, ct) => PingProtocol.ServeAsync(stream, _options, ct), runOnLimitedConnection: true);
    }

    /// <summary>Pings the peer on a new stream and returns the round-trip time.</summary>
    /// <exception cref="PingException">The peer does not answer correctly or in time.</exception>
    public async Task<TimeSpan> PingAsync(Connection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var stream = await connection.OpenStreamAsync(PingProtocol.Id, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var rtt = await PingProtocol.PingOnceAsync(stream, _options, cancellationToken).ConfigureAwait(false);
            await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
            return rtt;
        }
    }
}
