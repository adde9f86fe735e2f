using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Security.Noise;
using P2PNet.Swarm;
using P2PNet.Tests.Support;
using P2PNet.Transports.Memory;
using P2PNet.Transports.Tcp;

namespace P2PNet.Tests.Swarm;

/// <summary><see cref="Connection.Info"/> over TCP and over the memory transport, on both sides.</summary>
public sealed class ConnectionInfoTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Info_over_tcp_names_the_transport_addresses_direction_security_and_muxer()
    {
        using var serverId = Identity.Generate();
        using var clientId = Identity.Generate();
        await using var server = new SwarmHost(serverId);
        await using var client = new SwarmHost(clientId);
        var addr = await server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var accepted = Events.Next<Connection>(h => server.ConnectionOpened += h, null, Timeout);

        var outbound = await client.DialAsync(addr.WithPeerId(serverId.PeerId)).WaitAsync(Timeout);
        var inbound = await accepted;

        Assert.Equal(new ConnectionInfo(TcpTransport.Name, outbound.LocalAddress, addr, ConnectionDirection.Outbound,
            NoiseHandshake.ProtocolId, YamuxSession.ProtocolId, IsLimited: false), outbound.Info);
        Assert.Equal(new ConnectionInfo(TcpTransport.Name, addr, outbound.LocalAddress, ConnectionDirection.Inbound,
            NoiseHandshake.ProtocolId, YamuxSession.ProtocolId, IsLimited: false), inbound.Info);
        Assert.NotNull(outbound.Socket); // IPeer.Client still has its socket on TCP
        Assert.Equal(outbound.Socket!.LocalEndPoint, outbound.Info.LocalAddress.ToIPEndPoint());
    }

    [Fact]
    public async Task Info_over_memory_has_memory_addresses_and_no_socket()
    {
        await using var hosts = new MemoryHosts();
        var (server, addr) = await hosts.StartAsync();
        var (client, _) = await hosts.StartAsync();
        var accepted = Events.Next<Connection>(h => server.ConnectionOpened += h, null, Timeout);

        var outbound = await client.DialAsync(addr).WaitAsync(Timeout);
        var inbound = await accepted;

        Assert.Equal(MemoryTransport.Name, outbound.Info.Transport);
        Assert.Equal(addr.WithoutPeerId(), outbound.Info.RemoteAddress);
        Assert.Equal(outbound.Info.LocalAddress, inbound.Info.RemoteAddress);
        Assert.Equal(MultiaddrProtocol.Memory, outbound.Info.LocalAddress.Components[0].Protocol);
        Assert.Equal(ConnectionDirection.Inbound, inbound.Info.Direction);
        Assert.Equal(NoiseHandshake.ProtocolId, inbound.Info.SecurityProtocol);
        Assert.Equal(YamuxSession.ProtocolId, inbound.Info.MuxerProtocol);
        Assert.Null(outbound.Socket);
        Assert.Null(inbound.Socket);
    }

    [Fact]
    public async Task A_host_with_tcp_and_memory_picks_the_transport_by_address()
    {
        var hub = new MemoryTransportHub();
        using var serverId = Identity.Generate();
        using var clientId = Identity.Generate();
        var options = new SwarmOptions { Transports = [new TcpTransport(), new MemoryTransport(hub)] };
        await using var server = new SwarmHost(serverId, options);
        await using var client = new SwarmHost(clientId, options);
        var tcp = await server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var memory = await server.ListenAsync(Multiaddr.Parse("/memory/0"));

        var overTcp = await client.DialAsync(tcp).WaitAsync(Timeout);
        var overMemory = await client.DialAsync(memory).WaitAsync(Timeout);

        Assert.Equal(TcpTransport.Name, overTcp.Info.Transport);
        Assert.Equal(MemoryTransport.Name, overMemory.Info.Transport);
        Assert.Contains(memory, server.ListenAddresses);
        var none = await Assert.ThrowsAsync<DialException>(() => client.DialAsync(Multiaddr.Parse("/dnsaddr/example.org")));
        Assert.Equal(DialError.NoTransport, none.Error);
        Assert.IsType<ArgumentException>(none.InnerException);
    }
}
