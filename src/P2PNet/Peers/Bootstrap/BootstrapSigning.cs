using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using P2PNet.Core;

namespace P2PNet.Peers.Bootstrap;

/// <summary>
/// The canonical byte strings signed in the bootstrap protocol. Each starts with a domain string (so a
/// signature of one kind can never pass as another, nor as a libp2p handshake signature), followed by the
/// fields, each as a 4-byte big-endian length and its UTF-8 bytes (no separator ambiguity).
/// </summary>
public static class BootstrapSigning
{
    /// <summary>Domain of registration signatures.</summary>
    public const string RegistrationDomain = "p2pnet-bootstrap/register/v1";

    /// <summary>Domain of answer signatures.</summary>
    public const string AnswerDomain = "p2pnet-bootstrap/answer/v1";

    /// <summary>The bytes a peer signs to register: domain, PeerId, network, timestamp, then each address.</summary>
    public static byte[] RegistrationBytes(string peerId, string network, long timestamp, IReadOnlyList<string> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var buffer = new ArrayBufferWriter<byte>(256);
        Field(buffer, RegistrationDomain);
        Field(buffer, peerId);
        Field(buffer, network);
        Field(buffer, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Field(buffer, addresses.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (string address in addresses) Field(buffer, address);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The bytes an authority signs for an answer: domain, kind, then the exact payload bytes.</summary>
    public static byte[] AnswerBytes(string kind, ReadOnlySpan<byte> payload)
    {
        var buffer = new ArrayBufferWriter<byte>(payload.Length + 64);
        Field(buffer, AnswerDomain);
        Field(buffer, kind);
        Length(buffer, payload.Length);
        buffer.Write(payload);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Signs a registration with the peer's identity; returns it with <see cref="BootstrapRegistration.Signature"/> set.</summary>
    public static BootstrapRegistration Sign(BootstrapRegistration registration, Identity identity)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentNullException.ThrowIfNull(identity);
        byte[] bytes = RegistrationBytes(registration.PeerId, registration.Network, registration.Timestamp, registration.Addresses);
        return registration with { Signature = Convert.ToBase64String(identity.Sign(bytes)) };
    }

    /// <summary>
    /// True when the registration's signature is valid for the key inlined in its PeerId. False for an
    /// unparsable PeerId, a hashed (non-inline) PeerId, a missing or malformed signature.
    /// </summary>
    public static bool VerifyRegistration(BootstrapRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (!PeerId.TryParse(registration.PeerId, out var id) || registration.Signature is null) return false;
        PublicKey? key;
        try
        {
            key = id.TryGetPublicKey();
        }
        catch (FormatException)
        {
            return false;
        }
        if (key is null) return false;
        Span<byte> signature = stackalloc byte[96];
        if (!Convert.TryFromBase64String(registration.Signature, signature, out int length) || length != 64) return false;
        byte[] bytes = RegistrationBytes(registration.PeerId, registration.Network, registration.Timestamp, registration.Addresses);
        return key.Verify(bytes, signature[..length]);
    }

    private static void Field(ArrayBufferWriter<byte> buffer, string value)
    {
        int count = Encoding.UTF8.GetByteCount(value);
        Length(buffer, count);
        Encoding.UTF8.GetBytes(value, buffer.GetSpan(count));
        buffer.Advance(count);
    }

    private static void Length(ArrayBufferWriter<byte> buffer, int length)
    {
        BinaryPrimitives.WriteInt32BigEndian(buffer.GetSpan(4), length);
        buffer.Advance(4);
    }
}
