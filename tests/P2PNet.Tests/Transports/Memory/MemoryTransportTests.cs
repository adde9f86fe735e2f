using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Transports.Memory;

namespace P2PNet.Tests.Transports.Memory;

/// <summary>Transport conformance of <see cref="MemoryTransport"/>: dial, listen, close, end-of-stream, isolation.</summary>
public sealed class MemoryTransportTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static async Task<(TransportConnection Dialer, TransportConnection Accepted, ITransportListener Listener)> PairAsync(MemoryTransport transport)
    {
        var listener = await transport.ListenAsync(Multiaddr.Parse("/memory/0"));
        var accept = listener.AcceptAsync().AsTask();
        var dialer = await transport.DialAsync(listener.ListenAddress);
        var accepted = await accept.WaitAsync(Timeout);
        Assert.NotNull(accepted);
        return (dialer, accepted, listener);
    }

    [Fact]
    public void Memory_multiaddr_round_trips_text_and_binary()
    {
        var addr = Multiaddr.Parse("/memory/1234567890123");
        Assert.Equal("/memory/1234567890123", addr.ToString());
        byte[] bytes = addr.ToBytes();
        Assert.Equal([0x89, 0x06], bytes[..2]); // varint of code 777
        Assert.Equal(10, bytes.Length);         // code + 8-byte id
        Assert.Equal(addr, Multiaddr.FromBytes(bytes));
        Assert.Throws<FormatException>(() => Multiaddr.Parse("/memory/abc"));
    }

    [Fact]
    public async Task Dial_and_listen_carry_bytes_both_ways_with_addresses()
    {
        var transport = new MemoryTransport(new MemoryTransportHub());
        var (dialer, accepted, listener) = await PairAsync(transport);
        await using var _ = listener;
        Assert.True(transport.CanHandle(listener.ListenAddress));
        Assert.False(transport.CanHandle(Multiaddr.Parse("/ip4/127.0.0.1/tcp/1")));
        Assert.Equal(MemoryTransport.Name, dialer.Transport);
        Assert.Equal(listener.ListenAddress, dialer.RemoteAddress);
        Assert.Equal(dialer.LocalAddress, accepted.RemoteAddress);
        Assert.Null(dialer.Socket);

        await dialer.Stream.WriteAsync("ping"u8.ToArray());
        byte[] buffer = new byte[4];
        await accepted.Stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Timeout);
        Assert.Equal("ping"u8.ToArray(), buffer);
        await accepted.Stream.WriteAsync("pong"u8.ToArray());
        await dialer.Stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Timeout);
        Assert.Equal("pong"u8.ToArray(), buffer);
        await dialer.Stream.DisposeAsync();
        await accepted.Stream.DisposeAsync();
    }

    [Fact]
    public async Task Close_gives_the_other_end_the_sent_bytes_then_end_of_stream_and_fails_its_writes()
    {
        var transport = new MemoryTransport(new MemoryTransportHub());
        var (dialer, accepted, listener) = await PairAsync(transport);
        await using var _ = listener;
        await dialer.Stream.WriteAsync("last"u8.ToArray());
        await dialer.Stream.DisposeAsync();

        byte[] buffer = new byte[16];
        int n = await accepted.Stream.ReadAtLeastAsync(buffer, 4).AsTask().WaitAsync(Timeout);
        Assert.Equal("last"u8.ToArray(), buffer[..n]);
        Assert.Equal(0, await accepted.Stream.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
        await Assert.ThrowsAsync<IOException>(async () => await accepted.Stream.WriteAsync(new byte[1]));
        await accepted.Stream.DisposeAsync();
    }

    [Fact]
    public async Task Disposing_an_end_wakes_its_own_pending_read()
    {
        var transport = new MemoryTransport(new MemoryTransportHub());
        var (dialer, accepted, listener) = await PairAsync(transport);
        await using var _ = listener;
        var read = dialer.Stream.ReadAsync(new byte[8]).AsTask();
        await Task.Yield();
        await dialer.Stream.DisposeAsync();
        var ex = await Record.ExceptionAsync(() => read.WaitAsync(Timeout));
        Assert.True(ex is null or ObjectDisposedException, ex?.ToString());
        Assert.Equal(0, await accepted.Stream.ReadAsync(new byte[8]).AsTask().WaitAsync(Timeout));
        await accepted.Stream.DisposeAsync();
    }

    [Fact]
    public async Task Zero_byte_read_waits_for_data_without_consuming_it()
    {
        var transport = new MemoryTransport(new MemoryTransportHub());
        var (dialer, accepted, listener) = await PairAsync(transport);
        await using var _ = listener;
        var zero = accepted.Stream.ReadAsync(Memory<byte>.Empty).AsTask();
        Assert.False(zero.IsCompleted);
        await dialer.Stream.WriteAsync(new byte[] { 7 });
        Assert.Equal(0, await zero.WaitAsync(Timeout));
        byte[] one = new byte[1];
        Assert.Equal(1, await accepted.Stream.ReadAsync(one).AsTask().WaitAsync(Timeout));
        Assert.Equal(7, one[0]);
        await dialer.Stream.DisposeAsync();
        await accepted.Stream.DisposeAsync();
    }

    [Fact]
    public async Task Writes_wait_while_the_reader_lags_behind()
    {
        var transport = new MemoryTransport(new MemoryTransportHub());
        var (dialer, accepted, listener) = await PairAsync(transport);
        await using var _ = listener;
        var write = dialer.Stream.WriteAsync(new byte[MemoryTransport.MaxBufferedBytes * 2]).AsTask();
        Assert.False(write.IsCompleted);
        byte[] sink = new byte[MemoryTransport.MaxBufferedBytes * 2];
        await accepted.Stream.ReadExactlyAsync(sink).AsTask().WaitAsync(Timeout);
        await write.WaitAsync(Timeout);
        await dialer.Stream.DisposeAsync();
        await accepted.Stream.DisposeAsync();
    }

    [Fact]
    public async Task Dial_without_listener_is_refused_and_hubs_are_isolated()
    {
        var hubA = new MemoryTransport(new MemoryTransportHub());
        var hubB = new MemoryTransport(new MemoryTransportHub());
        await using var listener = await hubA.ListenAsync(Multiaddr.Parse("/memory/42"));
        var refused = await Assert.ThrowsAsync<SocketException>(async () => await hubB.DialAsync(Multiaddr.Parse("/memory/42")));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        var inUse = await Assert.ThrowsAsync<SocketException>(async () => await hubA.ListenAsync(Multiaddr.Parse("/memory/42")));
        Assert.Equal(SocketError.AddressAlreadyInUse, inUse.SocketErrorCode);
    }

    [Fact]
    public async Task Closed_listener_ends_accept_refuses_dials_and_closes_unaccepted_connections()
    {
        var transport = new MemoryTransport(new MemoryTransportHub());
        var listener = await transport.ListenAsync(Multiaddr.Parse("/memory/0"));
        var orphan = await transport.DialAsync(listener.ListenAddress);
        await listener.DisposeAsync();
        Assert.Null(await listener.AcceptAsync().AsTask().WaitAsync(Timeout));
        Assert.Equal(0, await orphan.Stream.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout));
        await Assert.ThrowsAsync<SocketException>(async () => await transport.DialAsync(listener.ListenAddress));
        await orphan.Stream.DisposeAsync();
    }
}
