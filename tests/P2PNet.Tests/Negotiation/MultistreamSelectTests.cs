using System.Net.Sockets;
using System.Text;
using P2PNet.Negotiation;

namespace P2PNet.Tests.Negotiation;

public class MultistreamSelectTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private const string Header = MultistreamSelect.ProtocolId;

    // Raw wire bytes for a sequence of messages (varint length including the newline, text, '\n').
    private static byte[] Wire(params string[] messages)
    {
        var ms = new MemoryStream();
        Span<byte> v = stackalloc byte[9];
        foreach (string m in messages)
        {
            byte[] body = Encoding.UTF8.GetBytes(m + "\n");
            ms.Write(v[..P2PNet.Wire.Varint.Write(v, (ulong)body.Length)]);
            ms.Write(body);
        }
        return ms.ToArray();
    }

    private static async Task<string> ReadRawAsync(Stream s)
    {
        int length = (int)await P2PNet.Wire.Varint.ReadAsync(s);
        byte[] body = new byte[length];
        await s.ReadExactlyAsync(body);
        return Encoding.UTF8.GetString(body, 0, length - 1);
    }

    private static async Task<NegotiationError> ListenerErrorAsync(byte[] input, bool close = true)
    {
        var (dialer, listener) = DuplexPipe.Create();
        await dialer.WriteAsync(input);
        if (close) dialer.CompleteWrite();
        var ex = await Assert.ThrowsAsync<NegotiationException>(
            () => MultistreamSelect.ListenAsync(listener, _ => true).WaitAsync(Timeout));
        return ex.Error;
    }

    [Fact]
    public async Task Selects_first_protocol_with_header_and_proposal_in_one_write()
    {
        var (dialer, listener) = DuplexPipe.Create();
        var listen = MultistreamSelect.ListenAsync(listener, p => p == "/a/1.0.0");
        string selected = await MultistreamSelect.SelectAsync(dialer, ["/a/1.0.0"]).WaitAsync(Timeout);
        Assert.Equal("/a/1.0.0", selected);
        Assert.Equal("/a/1.0.0", await listen.WaitAsync(Timeout));
        Assert.Equal(1, dialer.WriteCount);
    }

    [Fact]
    public async Task Falls_back_after_na()
    {
        var (dialer, listener) = DuplexPipe.Create();
        var listen = MultistreamSelect.ListenAsync(listener, p => p == "/yamux/1.0.0");
        string selected = await MultistreamSelect.SelectAsync(dialer, ["/mplex/6.7.0", "/other/1", "/yamux/1.0.0"]).WaitAsync(Timeout);
        Assert.Equal("/yamux/1.0.0", selected);
        Assert.Equal("/yamux/1.0.0", await listen.WaitAsync(Timeout));
    }

    [Fact]
    public async Task No_common_protocol_fails_on_both_sides()
    {
        var (dialer, listener) = DuplexPipe.Create();
        var listen = MultistreamSelect.ListenAsync(listener, _ => false);
        var ex = await Assert.ThrowsAsync<NegotiationException>(
            () => MultistreamSelect.SelectAsync(dialer, ["/x/1", "/y/1"]).WaitAsync(Timeout));
        Assert.Equal(NegotiationError.NoProtocol, ex.Error);
        dialer.CompleteWrite();
        var lex = await Assert.ThrowsAsync<NegotiationException>(() => listen.WaitAsync(Timeout));
        Assert.Equal(NegotiationError.Truncated, lex.Error);
    }

    [Fact]
    public async Task Listener_does_not_read_past_a_pipelined_proposal()
    {
        // A js-libp2p style dialer: header, proposal and application data in a single packet.
        var (dialer, listener) = DuplexPipe.Create();
        byte[] app = [1, 2, 3, 4, 5];
        await dialer.WriteAsync(Wire(Header, "/echo/1.0.0").Concat(app).ToArray());
        Assert.Equal("/echo/1.0.0", await MultistreamSelect.ListenAsync(listener, p => p == "/echo/1.0.0").WaitAsync(Timeout));
        byte[] rest = new byte[app.Length];
        await listener.ReadExactlyAsync(rest).AsTask().WaitAsync(Timeout);
        Assert.Equal(app, rest);
        Assert.Equal(Header, await ReadRawAsync(dialer));
        Assert.Equal("/echo/1.0.0", await ReadRawAsync(dialer));
    }

    [Fact]
    public async Task Dialer_does_not_read_past_a_pipelined_answer()
    {
        // A listener answering header + acceptance + first protocol bytes in a single packet.
        var (dialer, listener) = DuplexPipe.Create();
        byte[] app = [9, 8, 7];
        await listener.WriteAsync(Wire(Header, "/noise").Concat(app).ToArray());
        Assert.Equal("/noise", await MultistreamSelect.SelectAsync(dialer, ["/noise"]).WaitAsync(Timeout));
        byte[] rest = new byte[app.Length];
        await dialer.ReadExactlyAsync(rest).AsTask().WaitAsync(Timeout);
        Assert.Equal(app, rest);
    }

    [Fact]
    public async Task Works_over_loopback_tcp_and_preserves_following_bytes()
    {
        await using var tcp = await TcpPair.CreateAsync();
        var listen = Task.Run(async () =>
        {
            string p = await MultistreamSelect.ListenAsync(tcp.Listener, p => p == "/b/1");
            byte[] data = new byte[4];
            await tcp.Listener.ReadExactlyAsync(data);
            return (p, data);
        });
        string selected = await MultistreamSelect.SelectAsync(tcp.Dialer, ["/a/1", "/b/1"]).WaitAsync(Timeout);
        await tcp.Dialer.WriteAsync(new byte[] { 0xde, 0xad, 0xbe, 0xef });
        var (accepted, received) = await listen.WaitAsync(Timeout);
        Assert.Equal("/b/1", selected);
        Assert.Equal("/b/1", accepted);
        Assert.Equal(new byte[] { 0xde, 0xad, 0xbe, 0xef }, received);
    }

    [Fact]
    public async Task Truncation_over_tcp_is_reported()
    {
        await using var tcp = await TcpPair.CreateAsync();
        await tcp.Dialer.WriteAsync(Wire(Header));
        tcp.DialerSocket.Shutdown(SocketShutdown.Send);
        var ex = await Assert.ThrowsAsync<NegotiationException>(
            () => MultistreamSelect.ListenAsync(tcp.Listener, _ => true).WaitAsync(Timeout));
        Assert.Equal(NegotiationError.Truncated, ex.Error);
    }

    [Fact]
    public async Task Listener_answers_na_to_ls_then_accepts()
    {
        var (dialer, listener) = DuplexPipe.Create();
        await dialer.WriteAsync(Wire(Header, "ls", "/p/1"));
        Assert.Equal("/p/1", await MultistreamSelect.ListenAsync(listener, _ => true).WaitAsync(Timeout));
        Assert.Equal(Header, await ReadRawAsync(dialer));
        Assert.Equal("na", await ReadRawAsync(dialer));
        Assert.Equal("/p/1", await ReadRawAsync(dialer));
    }

    [Fact]
    public async Task Bad_header_is_rejected() =>
        Assert.Equal(NegotiationError.BadHeader, await ListenerErrorAsync(Wire("/multistream/2.0.0", "/p/1")));

    [Fact]
    public async Task Dialer_rejects_a_bad_header()
    {
        var (dialer, listener) = DuplexPipe.Create();
        await listener.WriteAsync(Wire("/not-multistream", "/p"));
        var ex = await Assert.ThrowsAsync<NegotiationException>(() => MultistreamSelect.SelectAsync(dialer, ["/p"]).WaitAsync(Timeout));
        Assert.Equal(NegotiationError.BadHeader, ex.Error);
    }

    [Fact]
    public async Task Dialer_rejects_an_unexpected_answer()
    {
        var (dialer, listener) = DuplexPipe.Create();
        await listener.WriteAsync(Wire(Header, "/something-else"));
        var ex = await Assert.ThrowsAsync<NegotiationException>(() => MultistreamSelect.SelectAsync(dialer, ["/p"]).WaitAsync(Timeout));
        Assert.Equal(NegotiationError.Malformed, ex.Error);
    }

    [Fact]
    public async Task Missing_newline_is_malformed()
    {
        byte[] input = [.. Wire(Header), 3, (byte)'/', (byte)'a', (byte)'b'];
        Assert.Equal(NegotiationError.Malformed, await ListenerErrorAsync(input));
    }

    [Fact]
    public async Task Invalid_utf8_is_malformed()
    {
        byte[] input = [.. Wire(Header), 4, (byte)'/', 0xff, 0xfe, (byte)'\n'];
        Assert.Equal(NegotiationError.Malformed, await ListenerErrorAsync(input));
    }

    [Fact]
    public async Task Empty_message_and_bad_varint_are_malformed()
    {
        Assert.Equal(NegotiationError.Malformed, await ListenerErrorAsync([0]));
        Assert.Equal(NegotiationError.Malformed, await ListenerErrorAsync([0x80, 0x00]));
    }

    [Fact]
    public async Task Oversized_message_is_rejected_before_its_body_arrives()
    {
        // Announces 1025 bytes and sends none: the limit must trip on the length alone.
        Assert.Equal(NegotiationError.MessageTooLong, await ListenerErrorAsync([0x81, 0x08], close: false));
    }

    [Fact]
    public async Task Truncated_inputs_are_reported()
    {
        Assert.Equal(NegotiationError.Truncated, await ListenerErrorAsync([]));
        Assert.Equal(NegotiationError.Truncated, await ListenerErrorAsync([0x80]));
        Assert.Equal(NegotiationError.Truncated, await ListenerErrorAsync([19, (byte)'/', (byte)'m']));
        Assert.Equal(NegotiationError.Truncated, await ListenerErrorAsync(Wire(Header)));
    }

    [Fact]
    public async Task Too_many_attempts_are_refused()
    {
        var (dialer, listener) = DuplexPipe.Create();
        string[] proposals = [Header, .. Enumerable.Range(0, MultistreamSelect.MaxAttempts).Select(i => $"/nope/{i}")];
        await dialer.WriteAsync(Wire(proposals));
        var ex = await Assert.ThrowsAsync<NegotiationException>(
            () => MultistreamSelect.ListenAsync(listener, _ => false).WaitAsync(Timeout));
        Assert.Equal(NegotiationError.TooManyAttempts, ex.Error);
    }

    [Fact]
    public async Task Last_allowed_attempt_still_succeeds()
    {
        var (dialer, listener) = DuplexPipe.Create();
        string[] proposals = [.. Enumerable.Range(0, MultistreamSelect.MaxAttempts).Select(i => $"/p/{i}")];
        var listen = MultistreamSelect.ListenAsync(listener, p => p == proposals[^1]);
        Assert.Equal(proposals[^1], await MultistreamSelect.SelectAsync(dialer, proposals).WaitAsync(Timeout));
        Assert.Equal(proposals[^1], await listen.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Invalid_local_protocols_are_argument_errors()
    {
        var (dialer, _) = DuplexPipe.Create();
        await Assert.ThrowsAsync<ArgumentException>(() => MultistreamSelect.SelectAsync(dialer, []));
        await Assert.ThrowsAsync<ArgumentException>(() => MultistreamSelect.SelectAsync(dialer, ["/a\n/b"]));
        await Assert.ThrowsAsync<ArgumentException>(() => MultistreamSelect.SelectAsync(dialer, [new string('a', MultistreamSelect.MaxMessageLength)]));
        Assert.Equal(0, dialer.WriteCount);
    }

    [Fact]
    public async Task Cancellation_propagates()
    {
        var (dialer, _) = DuplexPipe.Create();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => MultistreamSelect.SelectAsync(dialer, ["/p"], cts.Token).WaitAsync(Timeout));
    }
}
