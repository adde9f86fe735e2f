using P2PNet.Negotiation;
using P2PNet.Protocols.Identify;

namespace P2PNet.Fuzz.Harnesses;

/// <summary>Stream protocols read from a peer: multistream-select (both roles) and identify.</summary>
internal static class WireHarnesses
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    // The first byte picks the role and the read size (partial reads reach the buffering paths); the rest is the wire.
    public static async Task MultistreamAsync(byte[] input)
    {
        if (input.Length == 0) return;
        using var stream = new FuzzStream(input[1..], maxRead: 1 + (input[0] >> 1));
        Task<string> run = (input[0] & 1) == 0
            ? MultistreamSelect.ListenAsync(stream, p => p is "/yamux/1.0.0" or "/noise" or "/ipfs/id/1.0.0")
            : MultistreamSelect.SelectAsync(stream, ["/noise", "/yamux/1.0.0"]);
        try
        {
            await FuzzFailureException.WithinAsync(run, Limit, "multistream-select").ConfigureAwait(false);
        }
        catch (NegotiationException)
        {
        }
    }

    public static async Task IdentifyAsync(byte[] input)
    {
        if (input.Length == 0) return;
        using var stream = new FuzzStream(input[1..], maxRead: 1 + input[0]);
        try
        {
            var read = IdentifyProtocol.ReadAsync(stream);
            await FuzzFailureException.WithinAsync(read, Limit, "identify").ConfigureAwait(false);
            var info = await read.ConfigureAwait(false);
            // What we accepted we must be able to send on (identify push relays it).
            var again = IdentifyProtocol.ReadAsync(new MemoryStream(Frame(info.ToProtobuf())));
            await again.ConfigureAwait(false);
        }
        catch (IdentifyException)
        {
        }
    }

    private static byte[] Frame(byte[] body)
    {
        var frame = new byte[Wire.Varint.SizeOf((ulong)body.Length) + body.Length];
        int n = Wire.Varint.Write(frame, (ulong)body.Length);
        body.CopyTo(frame, n);
        return frame;
    }
}
