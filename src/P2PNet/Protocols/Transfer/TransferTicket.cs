using System.Diagnostics.CodeAnalysis;
using System.Text;
using P2PNet.Core;
using P2PNet.Wire;

namespace P2PNet.Protocols.Transfer;

/// <summary>
/// One copy-pasteable token that is a capability to fetch a file: its CID, size and name, the share's 128-bit
/// secret and the provider's multiaddrs. Text: <c>p2pnet1</c> then base32 of version 1, the CID, the size, the
/// name, the secret and the addresses, each length-prefixed and limited.
/// </summary>
public sealed record TransferTicket(ContentId Id, long Size, string Name, ReadOnlyMemory<byte> Secret, IReadOnlyList<Multiaddr> Addresses)
{
    /// <summary>Text prefix ('1' is outside the base32 alphabet, so it also ends the prefix).</summary>
    public const string Prefix = "p2pnet1";

    /// <summary>Longest ticket text accepted.</summary>
    public const int MaxTextLength = 8192;

    /// <summary>Most provider addresses in one ticket.</summary>
    public const int MaxAddresses = 16;

    private const int MaxAddressBytes = 512;
    private const byte Version = 1;

    /// <summary>The text form.</summary>
    public override string ToString()
    {
        var body = new List<byte> { Version };
        byte[] varint = new byte[10];
        void Bytes(ReadOnlySpan<byte> value)
        {
            int n = Varint.Write(varint, (ulong)value.Length);
            body.AddRange(varint.AsSpan(0, n));
            body.AddRange(value);
        }
        Bytes(Id.ToBytes());
        body.AddRange(varint.AsSpan(0, Varint.Write(varint, (ulong)Size)));
        Bytes(Encoding.UTF8.GetBytes(Name));
        Bytes(Secret.Span);
        body.Add((byte)Math.Min(Addresses.Count, MaxAddresses));
        foreach (var address in Addresses.Take(MaxAddresses)) Bytes(address.ToBytes());
        return Prefix + Base32.Encode([.. body]);
    }

    /// <summary>Parses a ticket; false (with the reason in <paramref name="error"/>) for anything malformed, over the limits, or with an unsafe name.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out TransferTicket? ticket, [NotNullWhen(false)] out string? error)
    {
        ticket = null;
        text = text?.Trim();
        if (text is null || !text.StartsWith(Prefix, StringComparison.Ordinal)) return Fail("a ticket starts with " + Prefix, out error);
        if (text.Length > MaxTextLength) return Fail("the ticket is too long", out error);
        if (!Base32.TryDecode(text.AsSpan(Prefix.Length), out var bytes)) return Fail("the ticket is not base32", out error);
        ReadOnlySpan<byte> rest = bytes;
        if (rest.Length < 1 || rest[0] != Version) return Fail("unknown ticket version", out error);
        rest = rest[1..];
        if (!TryBytes(ref rest, ContentId.EncodedSize, out var cidBytes) || !ContentId.TryFromBytes(cidBytes, out var id)) return Fail("the ticket has no valid content id", out error);
        if (!TransferVarint.TryRead(rest, out ulong size, out int n) || size > long.MaxValue) return Fail("the ticket has no size", out error);
        rest = rest[n..];
        if (!TryBytes(ref rest, 4 * FileNames.MaxLength, out var nameBytes)) return Fail("the ticket has no name", out error);
        string name;
        try
        {
            name = new UTF8Encoding(false, true).GetString(nameBytes);
        }
        catch (DecoderFallbackException)
        {
            return Fail("the ticket's name is not UTF-8", out error);
        }
        if (!FileNames.IsSafe(name)) return Fail($"the ticket's file name '{name}' is not a plain file name", out error);
        if (!TryBytes(ref rest, TransferProtocol.SecretSize, out var secret) || secret.Length is not (0 or TransferProtocol.SecretSize))
            return Fail("the ticket's secret has a wrong length", out error);
        if (rest.Length < 1 || rest[0] > MaxAddresses) return Fail("the ticket has too many addresses", out error);
        int count = rest[0];
        rest = rest[1..];
        var addresses = new List<Multiaddr>(count);
        for (int i = 0; i < count; i++)
        {
            if (!TryBytes(ref rest, MaxAddressBytes, out var addressBytes)) return Fail("the ticket's addresses are cut short", out error);
            try
            {
                addresses.Add(Multiaddr.FromBytes(addressBytes));
            }
            catch (FormatException)
            {
                return Fail("the ticket holds a malformed multiaddr", out error);
            }
        }
        if (rest.Length != 0) return Fail("the ticket has trailing bytes", out error);
        ticket = new TransferTicket(id, (long)size, name, secret.ToArray(), addresses);
        error = null;
        return true;
    }

    private static bool TryBytes(ref ReadOnlySpan<byte> rest, int max, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (!TransferVarint.TryRead(rest, out ulong length, out int n) || length > (ulong)max || (ulong)(rest.Length - n) < length) return false;
        value = rest.Slice(n, (int)length);
        rest = rest[(n + (int)length)..];
        return true;
    }

    private static bool Fail(string message, out string error)
    {
        error = message;
        return false;
    }
}
