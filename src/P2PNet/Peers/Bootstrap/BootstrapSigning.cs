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
        byte[] bytes = new byte[RegistrationLength(peerId, network, timestamp, addresses)];
        WriteRegistration(bytes, peerId, network, timestamp, addresses);
        return bytes;
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
        return PeerId.TryParse(registration.PeerId, out var id) && Verify(registration, id);
    }

    /// <summary>
    /// As <see cref="VerifyRegistration(BootstrapRegistration)"/>, for a caller that has already parsed
    /// <see cref="BootstrapRegistration.PeerId"/> (a bootstrap server validates it first): saves parsing it again.
    /// False when <paramref name="peerId"/> is not the registration's PeerId.
    /// </summary>
    public static bool VerifyRegistration(BootstrapRegistration registration, PeerId peerId)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentNullException.ThrowIfNull(peerId);
        return string.Equals(peerId.ToString(), registration.PeerId, StringComparison.Ordinal) && Verify(registration, peerId);
    }

    private static bool Verify(BootstrapRegistration registration, PeerId id)
    {
        if (registration.Signature is null || registration.Addresses is null) return false;
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
        if (!Convert.TryFromBase64String(registration.Signature, signature, out int length) || length != 64)
            return false;
        // The signed bytes go to a pooled buffer: they live only for the verification.
        int count = RegistrationLength(registration.PeerId, registration.Network, registration.Timestamp, registration.Addresses);
        byte[] rented = ArrayPool<byte>.Shared.Rent(count);
        try
        {
            WriteRegistration(rented, registration.PeerId, registration.Network, registration.Timestamp, registration.Addresses);
            return key.Verify(rented.AsSpan(0, count), signature[..length]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static int RegistrationLength(string peerId, string network, long timestamp, IReadOnlyList<string> addresses)
    {
        int length = FieldLength(RegistrationDomain) + FieldLength(peerId) + FieldLength(network)
            + 4 + DecimalDigits(timestamp) + 4 + DecimalDigits(addresses.Count);
        foreach (string address in addresses) length += FieldLength(address);
        return length;
    }

    private static void WriteRegistration(Span<byte> destination, string peerId, string network, long timestamp, IReadOnlyList<string> addresses)
    {
        int at = Field(destination, RegistrationDomain);
        at += Field(destination[at..], peerId);
        at += Field(destination[at..], network);
        at += Number(destination[at..], timestamp);
        at += Number(destination[at..], addresses.Count);
        foreach (string address in addresses) at += Field(destination[at..], address);
    }

    private static int FieldLength(string value) => 4 + Encoding.UTF8.GetByteCount(value);

    private static int DecimalDigits(long value)
    {
        Span<byte> digits = stackalloc byte[20];
        value.TryFormat(digits, out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        return written;
    }

    private static int Field(Span<byte> destination, string value)
    {
        int count = Encoding.UTF8.GetBytes(value, destination[4..]);
        BinaryPrimitives.WriteInt32BigEndian(destination, count);
        return 4 + count;
    }

    // A number field: its invariant decimal text, as the earlier ToString(InvariantCulture) form wrote it.
    private static int Number(Span<byte> destination, long value)
    {
        value.TryFormat(destination[4..], out int count, default, System.Globalization.CultureInfo.InvariantCulture);
        BinaryPrimitives.WriteInt32BigEndian(destination, count);
        return 4 + count;
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
