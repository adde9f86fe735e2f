using System.Net;
using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Swarm;
using P2PNet.Transports.Tcp;

namespace P2PNet.Tests.Transports.Tcp;

/// <summary>TCP port reuse on loopback: dials leave from the listen port, so a peer observes the port it can dial back.</summary>
public sealed class TcpPortReuseTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static bool Supported => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS();

    [Fact]
    public async Task A_dial_leaves_from_the_listen_port_and_the_remote_observes_that_port()
    {
        if (!Supported) return;
        await using var a = new SwarmHost(Identity.Generate());
        await using var b = new SwarmHost(Identity.Generate());
        var aListen = await a.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var bListen = await b.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var opened = new TaskCompletionSource<Connection>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.ConnectionOpened += (_, c) => opened.TrySetResult(c);

        var connection = await a.DialAsync(bListen.WithPeerId(b.LocalPeerId)).WaitAsync(Timeout);
        var atB = await opened.Task.WaitAsync(Timeout);

        Assert.Equal(aListen.ToIPEndPoint()!.Port, connection.LocalAddress.ToIPEndPoint()!.Port);
        Assert.Equal(aListen.ToIPEndPoint()!.Port, atB.RemoteAddress.ToIPEndPoint()!.Port);
        // The listener still accepts while its port also carries an outbound connection.
        await using var c = new SwarmHost(Identity.Generate());
        var toA = await c.DialAsync(aListen.WithPeerId(a.LocalPeerId)).WaitAsync(Timeout);
        Assert.True(toA.IsOpen);
    }

    [Fact]
    public async Task Without_port_reuse_or_a_listener_a_dial_uses_an_ephemeral_port()
    {
        if (!Supported) return;
        await using var b = new SwarmHost(Identity.Generate());
        var bListen = await b.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        await using var off = new SwarmHost(Identity.Generate(), new SwarmOptions { Tcp = new TcpTransportOptions { PortReuse = false } });
        var offListen = await off.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var connection = await off.DialAsync(bListen.WithPeerId(b.LocalPeerId)).WaitAsync(Timeout);
        Assert.NotEqual(offListen.ToIPEndPoint()!.Port, connection.LocalAddress.ToIPEndPoint()!.Port);

        // A transport with no listener (AutoNAT's dial-back transport) dials from a fresh port.
        var bare = new TcpTransport();
        var raw = await bare.DialAsync(bListen, CancellationToken.None).AsTask().WaitAsync(Timeout);
        await using (raw.Stream)
            Assert.NotEqual(bListen.ToIPEndPoint()!.Port, raw.LocalAddress.ToIPEndPoint()!.Port);
    }

    [Fact]
    public async Task A_second_dial_to_the_same_peer_address_falls_back_to_an_ephemeral_port()
    {
        if (!Supported) return;
        var transport = new TcpTransport();
        await using var listener = await transport.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        var target = Multiaddr.FromEndPoint((IPEndPoint)server.LocalEndpoint);
        var first = await transport.DialAsync(target).AsTask().WaitAsync(Timeout);
        var second = await transport.DialAsync(target).AsTask().WaitAsync(Timeout);
        await using (first.Stream)
        await using (second.Stream)
        {
            Assert.Equal(listener.ListenAddress.ToIPEndPoint()!.Port, first.LocalAddress.ToIPEndPoint()!.Port);
            Assert.NotEqual(listener.ListenAddress.ToIPEndPoint()!.Port, second.LocalAddress.ToIPEndPoint()!.Port);
        }
    }

    [Fact]
    public async Task A_port_held_by_another_listener_is_still_refused()
    {
        if (!Supported) return;
        var first = new TcpTransport();
        await using var held = await first.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var second = new TcpTransport();
        var ex = await Assert.ThrowsAsync<SocketException>(async () => await second.ListenAsync(held.ListenAddress));
        Assert.Equal(SocketError.AddressAlreadyInUse, ex.SocketErrorCode);
    }

    [Fact]
    public async Task A_transport_shared_by_two_hosts_never_dials_from_the_endpoint_it_dials()
    {
        if (!Supported) return;
        var shared = new TcpTransport();
        var options = new SwarmOptions { Transports = [shared] };
        await using var server = new SwarmHost(Identity.Generate(), options);
        await using var client = new SwarmHost(Identity.Generate(), options);
        var listen = await server.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var connection = await client.DialAsync(listen.WithPeerId(server.LocalPeerId)).WaitAsync(Timeout);
        Assert.Equal(server.LocalPeerId, connection.RemotePeerId);
        Assert.NotEqual(listen.ToIPEndPoint()!.Port, connection.LocalAddress.ToIPEndPoint()!.Port);
    }
}
