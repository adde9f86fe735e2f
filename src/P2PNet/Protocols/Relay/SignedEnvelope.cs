using Google.Protobuf;
using P2PNet.Core;
using P2PNet.Wire;

namespace P2PNet.Protocols.Relay;

// The libp2p signed envelope (RFC 0002, record/pb/envelope.proto: public_key = 1, payload_type = 2, payload = 3,
// signature = 5). The signature covers varint-length-prefixed domain, payload type and payload. Signing and
// verifying go through Identity and PublicKey (NSec); nothing here is cryptography of its own.
internal static class SignedEnvelope
{
    public static byte[] Seal(Identity signer, string domain, byte[] payloadType, byte[] payload)
    {
        byte[] signature = signer.Sign(SignedBytes(domain, payloadType, payload));
        return RelayCodec.Encode(o =>
        {
            RelayCodec.WriteMessage(o, 1, signer.PublicKey.ToProtobuf());
            RelayCodec.WriteMessage(o, 2, payloadType);
            RelayCodec.WriteMessage(o, 3, payload);
            RelayCodec.WriteMessage(o, 5, signature);
        });
    }

    /// <summary>
    /// Verifies the envelope for <paramref name="domain"/> and <paramref name="payloadType"/> and returns its
    /// signer and payload; throws <see cref="RelayException"/> (BadVoucher) otherwise.
    /// </summary>
    public static (PublicKey Signer, byte[] Payload) Open(ReadOnlySpan<byte> envelope, string domain, byte[] payloadType)
    {
        byte[]? key = null, type = null, payload = null, signature = null;
        try
        {
            RelayCodec.Decode(envelope, "envelope", (input, field, wire) =>
            {
                switch (field)
                {
                    case 1: key = RelayCodec.ReadMessage(input, wire); return true;
                    case 2: type = RelayCodec.ReadMessage(input, wire); return true;
                    case 3: payload = RelayCodec.ReadMessage(input, wire); return true;
                    case 5: signature = RelayCodec.ReadMessage(input, wire); return true;
                    default: return false;
                }
            });
        }
        catch (RelayException ex)
        {
            throw new RelayException(RelayError.BadVoucher, $"the envelope does not parse: {ex.Message}", inner: ex);
        }
        if (key is null || type is null || payload is null || signature is null)
            throw new RelayException(RelayError.BadVoucher, "the envelope lacks a field");
        if (!type.AsSpan().SequenceEqual(payloadType))
            throw new RelayException(RelayError.BadVoucher, "the envelope carries another payload type");
        PublicKey signer;
        try
        {
            signer = PublicKey.FromProtobuf(key);
        }
        catch (FormatException ex)
        {
            throw new RelayException(RelayError.BadVoucher, "the envelope's public key does not parse", inner: ex);
        }
        if (!signer.Verify(SignedBytes(domain, type, payload), signature))
            throw new RelayException(RelayError.BadVoucher, "the envelope's signature does not verify");
        return (signer, payload);
    }

    private static byte[] SignedBytes(string domain, byte[] payloadType, byte[] payload)
    {
        byte[] d = System.Text.Encoding.UTF8.GetBytes(domain);
        using var ms = new MemoryStream();
        Span<byte> v = stackalloc byte[Varint.MaxLength];
        foreach (byte[] part in (byte[][])[d, payloadType, payload])
        {
            ms.Write(v[..Varint.Write(v, (ulong)part.Length)]);
            ms.Write(part);
        }
        return ms.ToArray();
    }
}
