using System.Net.Sockets;
using P2PNet.Protocols.Ping;
using P2PNet.Tests.Negotiation;

namespace P2PNet.Tests.Protocols.Ping;

public class PingProtocolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Pings_are_echoed_on_one_stream_until_half_close()
    {
        var (dialer, listener) = DuplexPipe.Create();
        var serve = PingProtocol.ServeAsync(listener);
        for (int i = 0; i < 3; i++)
        {
            TimeSpan rtt = await PingProtocol.PingOnceAsync(dialer, PingOptions.Default).WaitAsync(Timeout);
            Assert.True(rtt >= TimeSpan.Zero);
        }
        dialer.CompleteWrite();
        await serve.WaitAsync(Timeout);
        Assert.Equal(3, listener.WriteCount);
    }

    [Fact]
    public async Task Pings_work_over_loopback_tcp()
    {
        await using var tcp = await TcpPair.CreateAsync();
        var serve = PingProtocol.ServeAsync(tcp.Listener);
        await PingProtocol.PingOnceAsync(tcp.Dialer).WaitAsync(Timeout);
        await PingProtocol.PingOnceAsync(tcp.Dialer).WaitAsync(Timeout);
        tcp.DialerSocket.Shutdown(SocketShutdown.Send);
        await serve.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Wrong_echo_is_a_mismatch()
    {
        var (dialer, listener) = DuplexPipe.Create();
        var liar = Task.Run(async () =>
        {
            byte[] payload = new byte[PingProtocol.PayloadSize];
            await listener.ReadExactlyAsync(payload);
            payload[0] ^= 0xff;
            await listener.WriteAsync(payload);
        });
        var ex = await Assert.ThrowsAsync<PingException>(() => PingProtocol.PingOnceAsync(dialer).WaitAsync(Timeout));
        Assert.Equal(PingFailure.Mismatch, ex.Error);
        await liar.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Stream_closed_before_echo_is_reported()
    {
        var (dialer, listener) = DuplexPipe.Create();
        await listener.WriteAsync(new byte[10]);
        listener.CompleteWrite();
        var ex = await Assert.ThrowsAsync<PingException>(() => PingProtocol.PingOnceAsync(dialer).WaitAsync(Timeout));
        Assert.Equal(PingFailure.Closed, ex.Error);
    }

    [Fact]
    public async Task Silent_peer_times_out()
    {
        var (dialer, _) = DuplexPipe.Create();
        var options = new PingOptions { Timeout = TimeSpan.FromMilliseconds(100) };
        var ex = await Assert.ThrowsAsync<PingException>(() => PingProtocol.PingOnceAsync(dialer, options).WaitAsync(Timeout));
        Assert.Equal(PingFailure.Timeout, ex.Error);
    }

    [Fact]
    public async Task Caller_cancellation_is_not_a_timeout()
    {
        var (dialer, _) = DuplexPipe.Create();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => PingProtocol.PingOnceAsync(dialer, PingOptions.Default, cts.Token).WaitAsync(Timeout));
    }

    [Fact]
    public async Task Serving_an_idle_stream_times_out()
    {
        var (_, listener) = DuplexPipe.Create();
        var options = new PingOptions { IdleTimeout = TimeSpan.FromMilliseconds(100) };
        var ex = await Assert.ThrowsAsync<PingException>(() => PingProtocol.ServeAsync(listener, options).WaitAsync(Timeout));
        Assert.Equal(PingFailure.Timeout, ex.Error);
    }

    [Fact]
    public async Task Serving_stops_after_the_ping_limit()
    {
        var (dialer, listener) = DuplexPipe.Create();
        var serve = PingProtocol.ServeAsync(listener, new PingOptions { MaxPingsPerStream = 2 });
        await PingProtocol.PingOnceAsync(dialer).WaitAsync(Timeout);
        await PingProtocol.PingOnceAsync(dialer).WaitAsync(Timeout);
        await serve.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Partial_payload_then_close_is_reported_by_the_server()
    {
        var (dialer, listener) = DuplexPipe.Create();
        await dialer.WriteAsync(new byte[PingProtocol.PayloadSize + 5]);
        dialer.CompleteWrite();
        var ex = await Assert.ThrowsAsync<PingException>(() => PingProtocol.ServeAsync(listener).WaitAsync(Timeout));
        Assert.Equal(PingFailure.Closed, ex.Error);
        Assert.Equal(1, listener.WriteCount);
    }
}
