using P2PNet.Core;
using P2PNet.Protocols.Ping;
using P2PNet.Swarm;
using P2PNet.Transports.Memory;

namespace P2PNet.Tests.Support;

/// <summary>Hosts on one <see cref="MemoryTransportHub"/> (one per test), each listening on a fresh <c>/memory/ID</c>, with ping.</summary>
internal sealed class MemoryHosts : IAsyncDisposable
{
    private readonly List<(SwarmHost Host, Identity Id)> _hosts = [];

    public MemoryTransportHub Hub { get; } = new();

    public SwarmOptions Options(SwarmOptions? options = null) =>
        (options ?? new SwarmOptions()) with { Transports = [new MemoryTransport(Hub)] };

    /// <summary>A host listening on memory; <c>Addr</c> includes <c>/p2p/</c>.</summary>
    public async Task<(SwarmHost Host, Multiaddr Addr)> StartAsync(SwarmOptions? options = null, Microsoft.Extensions.Logging.ILoggerFactory? loggers = null)
    {
        var id = Identity.Generate();
        var host = new SwarmHost(id, Options(options), loggers);
        _ = new PingService(host);
        _hosts.Add((host, id));
        var addr = await host.ListenAsync(Multiaddr.Parse("/memory/0"));
        return (host, addr.WithPeerId(id.PeerId));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (host, id) in _hosts)
        {
            await host.DisposeAsync();
            id.Dispose();
        }
    }
}
