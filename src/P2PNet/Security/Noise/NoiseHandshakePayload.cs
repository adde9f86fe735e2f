using Google.Protobuf;
using P2PNet.Core;

namespace P2PNet.Security.Noise;

/// <summary>
/// The libp2p Noise handshake payload:
/// <c>message NoiseHandshakePayload { bytes identity_key = 1; bytes identity_sig = 2; NoiseExtensions extensions = 4; }</c>.
/// Extensions (and the legacy <c>data</c> field 3) are never sent and are skipped when received.
/// </summary>
internal sealed class NoiseHandshakePayload
{
    /// <summary>Largest identity signature accepted (an RSA-8192 signature is 1024 bytes).</summary>
    public const int MaxSignatureLength = 1024;

    /// <summary>Prefix of the data the identity key signs, followed by the Noise static public key.</summary>
    public static ReadOnlySpan<byte> SignaturePrefix => "noise-libp2p-static-key:"u8;

    /// <summary>Creates a payload.</summary>
    public NoiseHandshakePayload(byte[] identityKey, byte[] identitySignature)
    {
        IdentityKey = identityKey;
        IdentitySignature = identitySignature;
    }

    /// <summary>The sender's libp2p public key, protobuf-encoded.</summary>
    public byte[] IdentityKey { get; }

    /// <summary>The identity key's signature over <see cref="SignaturePrefix"/> + Noise static key.</summary>
    public byte[] IdentitySignature { get; }

    /// <summary>Builds the payload proving that <paramref name="identity"/> owns <paramref name="noiseStaticPublicKey"/>.</summary>
    public static NoiseHandshakePayload Create(Identity identity, ReadOnlySpan<byte> noiseStaticPublicKey) =>
        new(identity.PublicKey.ToProtobuf(), identity.Sign(SignedData(noiseStaticPublicKey)));

    /// <summary>The bytes the identity signature covers.</summary>
    public static byte[] SignedData(ReadOnlySpan<byte> noiseStaticPublicKey)
    {
        byte[] data = new byte[SignaturePrefix.Length + noiseStaticPublicKey.Length];
        SignaturePrefix.CopyTo(data);
        noiseStaticPublicKey.CopyTo(data.AsSpan(SignaturePrefix.Length));
        return data;
    }

    /// <summary>Protobuf encoding, fields in number order.</summary>
    public byte[] Encode()
    {
        int size = CodedOutputStream.ComputeTagSize(1) + CodedOutputStream.ComputeLengthSize(IdentityKey.Length) + IdentityKey.Length
            + CodedOutputStream.ComputeTagSize(2) + CodedOutputStream.ComputeLengthSize(IdentitySignature.Length) + IdentitySignature.Length;
        byte[] buffer = new byte[size];
        var output = new CodedOutputStream(buffer);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(IdentityKey));
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(IdentitySignature));
        output.Flush();
        return buffer;
    }

    /// <summary>
    /// Parses a received payload; throws <see cref="NoiseException"/> (<see cref="NoiseError.BadPayload"/>) when
    /// malformed or over limits. The input is bounded by the 65535-byte Noise message limit, and protobuf refuses
    /// any field longer than what remains, so no field allocation can exceed that bound.
    /// </summary>
    public static NoiseHandshakePayload Decode(byte[] encoded)
    {
        byte[]? key = null;
        byte[]? signature = null;
        try
        {
            var input = new CodedInputStream(encoded);
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                bool lengthDelimited = WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1 when lengthDelimited:
                        key = input.ReadBytes().ToByteArray();
                        if (key.Length > PublicKey.MaxEncodedLength) throw Bad("identity key too large");
                        break;
                    case 2 when lengthDelimited:
                        signature = input.ReadBytes().ToByteArray();
                        if (signature.Length > MaxSignatureLength) throw Bad("identity signature too large");
                        break;
                    default:
                        input.SkipLastField();
                        break;
                }
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new NoiseException(NoiseError.BadPayload, "malformed Noise handshake payload", ex);
        }
        if (key is null || key.Length == 0) throw Bad("handshake payload lacks identity_key");
        if (signature is null || signature.Length == 0) throw Bad("handshake payload lacks identity_sig");
        return new NoiseHandshakePayload(key, signature);
    }

    private static NoiseException Bad(string message) => new(NoiseError.BadPayload, message);
}
