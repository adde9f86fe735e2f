using P2PNet.Protocols.AutoNat;

namespace P2PNet.Fuzz.Harnesses;

/// <summary>
/// AutoNAT v2 messages read from a peer. Byte 0: the low two bits pick the reader (0: dial-request stream messages
/// until the end, each re-encoded and read again; 1: a DialBack; 2: dial data owed to a server; 3: a DialBackResponse
/// body), the rest the read size. Every reader must fail with <see cref="AutoNatException"/> or succeed.
/// </summary>
internal static class AutoNatHarness
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    public static async Task RunAsync(byte[] input)
    {
        if (input.Length == 0) return;
        using var stream = new FuzzStream(input[1..], maxRead: 1 + (input[0] >> 2));
        try
        {
            switch (input[0] & 3)
            {
                case 0:
                    for (int i = 0; i < 64; i++)
                    {
                        var read = AutoNatProtocol.ReadAsync(stream, CancellationToken.None);
                        await FuzzFailureException.WithinAsync(read, Limit, "autonat message").ConfigureAwait(false);
                        if (await read.ConfigureAwait(false) is not { } message) break;
                        // What we decode we must encode to the same message.
                        byte[] encoded = AutoNatCodec.Encode(message);
                        FuzzFailureException.Check(AutoNatCodec.Encode(AutoNatCodec.Decode(encoded)!).AsSpan().SequenceEqual(encoded), $"{message.GetType().Name} does not round-trip");
                    }
                    break;
                case 1:
                    var nonce = AutoNatProtocol.ReadDialBackAsync(stream, CancellationToken.None);
                    await FuzzFailureException.WithinAsync(nonce, Limit, "autonat dial-back").ConfigureAwait(false);
                    ulong n = await nonce.ConfigureAwait(false);
                    FuzzFailureException.Check(AutoNatCodec.DecodeDialBack(AutoNatCodec.EncodeDialBack(n)) == n, "DialBack nonce does not round-trip");
                    break;
                case 2:
                    await FuzzFailureException.WithinAsync(AutoNatProtocol.ReadDialDataAsync(stream, AutoNatProtocol.MinDialDataBytes, CancellationToken.None), Limit, "autonat dial data").ConfigureAwait(false);
                    break;
                default:
                    _ = AutoNatCodec.DecodeDialBackResponse(input.AsSpan(1));
                    break;
            }
        }
        catch (AutoNatException)
        {
        }
    }
}
