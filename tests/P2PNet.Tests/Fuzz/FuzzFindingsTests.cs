using System.Runtime.CompilerServices;
using System.Text;
using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Peers.Bootstrap;
using P2PNet.Protocols.Transfer;

namespace P2PNet.Tests.Fuzz;

/// <summary>
/// One test per bug the fuzzers found in a P2PNet parser: the typed error the parser documents, not a crash.
/// The crashing inputs themselves are in fuzz/corpus/&lt;harness&gt;/crash-* and replayed by <see cref="CorpusReplayTests"/>.
/// </summary>
public sealed class FuzzFindingsTests
{
    [Theory]
    [InlineData("{\"error\":\"invalid\",\"detail\":\"x\"}")] // an error body where an envelope was expected
    [InlineData("{\"kind\":\"identity\",\"payload\":null}")]
    public void Answer_envelope_without_payload_is_a_malformed_answer(string body)
    {
        var ex = Assert.Throws<BootstrapException>(() => BootstrapAnswers.Open(Encoding.UTF8.GetBytes(body), "identity"));
        Assert.Equal(BootstrapError.MalformedAnswer, ex.Error);
    }

    [Fact]
    public async Task Yamux_protocol_error_does_not_surface_as_an_unobserved_task_exception()
    {
        // A session that ends on a protocol violation faults Completion; its owner (a swarm connection) only checks
        // IsCompleted. Before the fix, collecting that task raised TaskScheduler.UnobservedTaskException.
        string marker = "unsupported yamux version 10";
        var unobserved = new List<Exception>();
        EventHandler<UnobservedTaskExceptionEventArgs> onUnobserved = (_, e) =>
        {
            if (e.Exception.ToString().Contains(marker, StringComparison.Ordinal)) lock (unobserved) unobserved.Add(e.Exception);
        };
        TaskScheduler.UnobservedTaskException += onUnobserved;
        try
        {
            for (int i = 0; i < 8; i++) await EndSessionOnBadVersionAsync();
            for (int i = 0; i < 3; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= onUnobserved;
        }
        lock (unobserved) Assert.Empty(unobserved);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task EndSessionOnBadVersionAsync()
    {
        byte[] frame = Convert.FromHexString("0A000000000000000000000000"); // version 10
        var session = new YamuxSession(new MemoryStream(frame), isClient: false);
        // WhenAny does not observe the fault; only the session itself may.
        var ended = await Task.WhenAny(session.Completion, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.Same(session.Completion, ended);
        Assert.True(session.Completion.IsFaulted);
        await session.DisposeAsync();
    }

    [Theory]
    [InlineData(0x1939_24C9)] // from fuzz/corpus/key/crash-key-type-varint
    [InlineData(int.MaxValue)]
    [InlineData(-1)] // a ten-byte varint
    public void Public_key_with_a_large_type_value_round_trips(int type)
    {
        // A peer's key of an unknown type parses; writing it back (e.g. to derive its PeerId in identify) must not throw.
        var key = new PublicKey((KeyType)type, new byte[32]);
        var again = PublicKey.FromProtobuf(key.ToProtobuf());
        Assert.Equal(key, again);
        Assert.Equal(key.ToPeerId(), again.ToPeerId());
    }

    [Theory]
    [InlineData("ffffffffffffffffff0103")] // first group: an eleven-byte varint
    [InlineData("0180")] // first group: a varint cut short
    [InlineData("018000")] // first group: not minimally encoded
    [InlineData("0080")] // group count: not minimally encoded
    public void Transfer_request_with_a_bad_varint_is_malformed(string rangeHex)
    {
        var request = new TransferRequest(new ContentId(new byte[32]), ReadOnlyMemory<byte>.Empty, 0, 1);
        byte[] body = TransferProtocol.EncodeRequest(request);
        byte[] bad = [.. body.AsSpan(0, body.Length - 2), .. Convert.FromHexString(rangeHex)];
        var ex = Assert.Throws<TransferException>(() => TransferProtocol.DecodeRequest(bad));
        Assert.Equal(TransferError.Malformed, ex.Error);
    }

    [Fact]
    public void Content_id_with_a_non_minimal_varint_is_refused_not_thrown()
    {
        byte[] bytes = [0x81, 0x00, .. new ContentId(new byte[32]).ToBytes().AsSpan(1)]; // version 1 written in two bytes
        Assert.False(ContentId.TryFromBytes(bytes, out _));
    }

    [Fact]
    public void Ticket_with_an_overlong_size_varint_is_refused_not_thrown()
    {
        var ticket = new TransferTicket(new ContentId(new byte[32]), 5, "a.bin", ReadOnlyMemory<byte>.Empty, []);
        Assert.True(TransferTicket.TryParse(ticket.ToString(), out _, out _));
        // Version, the CID with its length, then the size: an eleven-byte varint in its place.
        byte[] body = [1, ContentId.EncodedSize, .. ticket.Id.ToBytes(), .. Enumerable.Repeat((byte)0xFF, 10), 1, 5, .. "a.bin"u8, 0, 0];
        Assert.False(TransferTicket.TryParse(TransferTicket.Prefix + Base32.Encode(body), out _, out string? error));
        Assert.Equal("the ticket has no size", error);
    }
}
