using System.Numerics;
using System.Text;

namespace P2PNet.Core;

/// <summary>Bitcoin-alphabet base58 (base58btc), as used by the textual PeerId.</summary>
internal static class Base58
{
    private const string Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    /// <summary>Longest text accepted by <see cref="Decode"/>; PeerIds are far shorter.</summary>
    public const int MaxTextLength = 256;

    /// <summary>Encodes bytes as base58btc text.</summary>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        int zeros = 0;
        while (zeros < data.Length && data[zeros] == 0) zeros++;
        var value = new BigInteger(data, isUnsigned: true, isBigEndian: true);
        var sb = new StringBuilder();
        while (value > 0)
        {
            value = BigInteger.DivRem(value, 58, out var rem);
            sb.Insert(0, Alphabet[(int)rem]);
        }
        sb.Insert(0, "1", zeros);
        return sb.ToString();
    }

    /// <summary>Decodes base58btc text; throws <see cref="FormatException"/> on a bad character or length.</summary>
    public static byte[] Decode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxTextLength) throw new FormatException("base58 text too long");
        int zeros = 0;
        while (zeros < text.Length && text[zeros] == '1') zeros++;
        BigInteger value = 0;
        foreach (char c in text)
        {
            int digit = Alphabet.IndexOf(c, StringComparison.Ordinal);
            if (digit < 0) throw new FormatException($"invalid base58 character '{c}'");
            value = value * 58 + digit;
        }
        byte[] body = value.IsZero ? [] : value.ToByteArray(isUnsigned: true, isBigEndian: true);
        var result = new byte[zeros + body.Length];
        body.CopyTo(result, zeros);
        return result;
    }
}
