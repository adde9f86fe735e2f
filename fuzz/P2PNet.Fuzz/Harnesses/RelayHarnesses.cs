using P2PNet.Core;
using P2PNet.Protocols.Relay;

namespace P2PNet.Fuzz.Harnesses;

/// <summary>Circuit relay v2: hop and stop messages read from a stream, and reservation vouchers.</summary>
internal static class RelayHarnesses
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    // The relay key that signs fuzzed voucher payloads (mode 2 with bit 2 set): a mutated envelope never carries
    // a valid signature, so without it the fuzzer would never reach the voucher's payload decoding.
    internal static readonly Identity VoucherSigner = Identity.FromSeed(new byte[32]);

    // The voucher payload type (multicodec 0x0302 as two big-endian bytes).
    internal static readonly byte[] VoucherPayloadType = [0x03, 0x02];

    // The first byte picks what is read (bits 0-1: hop, stop, voucher) and the read size (the rest); what a
    // message parser accepts must re-encode and parse again. For a voucher, bit 2 clear: the rest is an envelope;
    // bit 2 set: the rest is a voucher payload, sealed with VoucherSigner before it is opened, and a voucher that
    // opens must seal and open to itself.
    public static async Task RelayAsync(byte[] input)
    {
        if (input.Length == 0) return;
        try
        {
            switch (input[0] & 3)
            {
                case 0:
                case 3:
                {
                    using var stream = new FuzzStream(input[1..], maxRead: 1 + (input[0] >> 2));
                    var read = RelayProtocol.ReadHopAsync(stream, Limit, CancellationToken.None);
                    await FuzzFailureException.WithinAsync(read, Limit, "relay hop").ConfigureAwait(false);
                    var message = await read.ConfigureAwait(false);
                    var again = HopMessage.FromProtobuf(message.ToProtobuf());
                    if (again.Type != message.Type || again.Status != message.Status || again.Peer?.Id != message.Peer?.Id
                        || again.Reservation?.Expire != message.Reservation?.Expire || again.Limit != message.Limit)
                        throw new FuzzFailureException("a hop message changed in a round trip");
                    // Addresses, reservation addresses and the voucher too: what we decode we must encode to the same bytes.
                    FuzzFailureException.Check(again.ToProtobuf().AsSpan().SequenceEqual(message.ToProtobuf()), "a hop message encodes differently after a round trip");
                    break;
                }
                case 1:
                {
                    using var stream = new FuzzStream(input[1..], maxRead: 1 + (input[0] >> 2));
                    var read = RelayProtocol.ReadStopAsync(stream, Limit, CancellationToken.None);
                    await FuzzFailureException.WithinAsync(read, Limit, "relay stop").ConfigureAwait(false);
                    var message = await read.ConfigureAwait(false);
                    var again = StopMessage.FromProtobuf(message.ToProtobuf());
                    if (again.Type != message.Type || again.Status != message.Status || again.Peer?.Id != message.Peer?.Id || again.Limit != message.Limit)
                        throw new FuzzFailureException("a stop message changed in a round trip");
                    FuzzFailureException.Check(again.ToProtobuf().AsSpan().SequenceEqual(message.ToProtobuf()), "a stop message encodes differently after a round trip");
                    break;
                }
                default:
                    if ((input[0] & 4) == 0)
                    {
                        _ = RelayVoucher.Open(input.AsSpan(1));
                        break;
                    }
                    byte[] envelope = SignedEnvelope.Seal(VoucherSigner, RelayVoucher.Domain, VoucherPayloadType, input[1..]);
                    var voucher = RelayVoucher.Open(envelope);
                    FuzzFailureException.Check(voucher.Relay == VoucherSigner.PeerId, "a voucher opened for another relay than its signer");
                    FuzzFailureException.Check(RelayVoucher.Open(voucher.Seal(VoucherSigner)) == voucher, "a voucher changed in a seal-open round trip");
                    break;
            }
        }
        catch (RelayException)
        {
        }
    }
}
