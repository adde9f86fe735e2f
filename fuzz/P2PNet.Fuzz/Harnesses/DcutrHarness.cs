using P2PNet.Protocols.Dcutr;

namespace P2PNet.Fuzz.Harnesses;

/// <summary>DCUtR: HolePunch messages read from a stream, and what parses must re-encode to the same message.</summary>
internal static class DcutrHarness
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    // The first byte sets the read size; then messages are read until the stream ends or one fails.
    public static async Task RunAsync(byte[] input)
    {
        if (input.Length == 0) return;
        using var stream = new FuzzStream(input[1..], maxRead: 1 + input[0]);
        try
        {
            for (int i = 0; i < 16; i++)
            {
                var read = DcutrProtocol.ReadAsync(stream, Limit, CancellationToken.None);
                await FuzzFailureException.WithinAsync(read, Limit, "dcutr").ConfigureAwait(false);
                var message = await read.ConfigureAwait(false);
                var again = HolePunchMessage.FromProtobuf(message.ToProtobuf());
                if (again.Type != message.Type || !again.ObsAddrs.SequenceEqual(message.ObsAddrs))
                    throw new FuzzFailureException("a HolePunch message changed in a round trip");
            }
        }
        catch (DcutrException)
        {
        }
    }
}
