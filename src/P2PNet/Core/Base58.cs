namespace P2PNet.Core;

/// <summary>
/// Bitcoin-alphabet base58 (base58btc), as used by the textual PeerId. Schoolbook base conversion over a small
/// stack buffer (a PeerId is 38–46 bytes): no BigInteger, one allocation for the result. Every registration a
/// bootstrap server takes parses a PeerId, so this sits on its hot path.
/// </summary>
internal static class Base58
{
    private const string Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    /// <summary>Longest text accepted by <see cref="Decode"/>; PeerIds are far shorter.</summary>
    public const int MaxTextLength = 256;

    /// <summary>Longest input of <see cref="Encode"/> (its digits stay on the stack); PeerIds are far shorter.</summary>
    public const int MaxEncodeLength = 1024;

    // Digit value of each ASCII character, -1 for characters outside the alphabet.
    private static ReadOnlySpan<sbyte> Digits =>
    [
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, -1, -1, -1, -1, -1, -1,
        -1, 9, 10, 11, 12, 13, 14, 15, 16, -1, 17, 18, 19, 20, 21, -1,
        22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, -1, -1, -1, -1, -1,
        -1, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, -1, 44, 45, 46,
        47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, -1, -1, -1, -1, -1,
    ];

    /// <summary>Encodes bytes as base58btc text.</summary>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        if (data.Length > MaxEncodeLength) throw new ArgumentException($"base58 input over {MaxEncodeLength} bytes", nameof(data));
        int zeros = 0;
        while (zeros < data.Length && data[zeros] == 0) zeros++;
        // log(256)/log(58) < 1.38: digits needed for the non-zero part.
        Span<byte> digits = stackalloc byte[(data.Length - zeros) * 138 / 100 + 1];
        int used = 0; // digits[^used..] hold the value so far, most significant first
        for (int i = zeros; i < data.Length; i++)
        {
            int carry = data[i];
            int j = 0;
            for (int k = digits.Length - 1; (carry != 0 || j < used) && k >= 0; k--, j++)
            {
                carry += 256 * digits[k];
                digits[k] = (byte)(carry % 58);
                carry /= 58;
            }
            used = j;
        }
        int skip = digits.Length - used;
        while (skip < digits.Length && digits[skip] == 0) skip++;
        Span<char> chars = stackalloc char[zeros + digits.Length - skip];
        chars[..zeros].Fill('1');
        for (int i = skip; i < digits.Length; i++) chars[zeros + i - skip] = Alphabet[digits[i]];
        return new string(chars);
    }

    /// <summary>Decodes base58btc text; throws <see cref="FormatException"/> on a bad character or length.</summary>
    public static byte[] Decode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxTextLength) throw new FormatException("base58 text too long");
        int zeros = 0;
        while (zeros < text.Length && text[zeros] == '1') zeros++;
        // log(58)/log(256) < 0.733: bytes needed for the rest.
        Span<byte> bytes = stackalloc byte[(text.Length - zeros) * 733 / 1000 + 1];
        int used = 0;
        for (int i = zeros; i < text.Length; i++)
        {
            char c = text[i];
            int carry = c < 128 ? Digits[c] : -1;
            if (carry < 0) throw new FormatException($"invalid base58 character '{c}'");
            int j = 0;
            for (int k = bytes.Length - 1; (carry != 0 || j < used) && k >= 0; k--, j++)
            {
                carry += 58 * bytes[k];
                bytes[k] = (byte)carry;
                carry >>= 8;
            }
            used = j;
        }
        int skip = bytes.Length - used;
        while (skip < bytes.Length && bytes[skip] == 0) skip++;
        var result = new byte[zeros + bytes.Length - skip];
        bytes[skip..].CopyTo(result.AsSpan(zeros));
        return result;
    }
}
