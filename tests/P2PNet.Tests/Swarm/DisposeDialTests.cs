using System.Net;
using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Tests.Swarm;

/// <summary>Dials in flight belong to the host: disposing it ends them and waits for them.</summary>
public sealed class DisposeDialTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task DisposeAsync_ends_and_awaits_an_outbound_dial_stuck_in_its_handshake()
    {
        // A TCP server that accepts and never answers: the dial waits in the security handshake.
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        int port = ((IPEndPoint)server.LocalEndpoint).Port;
        using var id = Identity.Generate();
        var host = new SwarmHost(id);
        var dial = host.DialAsync(Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{port}"));
        using var accepted = await server.AcceptSocketAsync().WaitAsync(Timeout);

        await host.DisposeAsync().AsTask().WaitAsync(Timeout);

        Assert.True(dial.IsCompleted, "DisposeAsync returned while the dial was still running");
        var ex = await Assert.ThrowsAsync<DialException>(() => dial);
        Assert.Equal(DialError.HostClosed, ex.Error);
        Assert.IsType<ObjectDisposedException>(ex.InnerException);
    }
}
