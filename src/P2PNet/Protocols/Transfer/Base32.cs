namespace P2PNet.Protocols.Transfer;

/// <summary>RFC 4648 base32, lower case, no padding: the multibase 'b' alphabet that CIDv1 text uses.</summary>
internal static class Base32
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    public static string Encode(ReadOnlySpan<byte> data)
    {
        var chars = new char[(data.Length * 8 + 4) / 5];
        int bits = 0, value = 0, o = 0;
        foreach (byte b in data)
        {
            value = (value << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[o++] = Alphabet[(value >> (bits - 5)) & 31];
                bits -= 5;
            }
        }
        if (bits > 0) chars[o++] = Alphabet[(value << (5 - bits)) & 31];
        return new string(chars, 0, o);
    }

    /// <summary>Decodes <paramref name="text"/> (either case); false on a character outside the alphabet or non-zero trailing bits.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] data)
    {
        data = new byte[text.Length * 5 / 8];
        int bits = 0, value = 0, o = 0;
        foreach (char c in text)
        {
            int v = c switch
            {
                >= 'a' and <= 'z' => c - 'a',
                >= 'A' and <= 'Z' => c - 'A',
                >= '2' and <= '7' => c - '2' + 26,
                _ => -1,
            };
            if (v < 0) return false;
            value = ((value << 5) | v) & 0xFFF;
            bits += 5;
            if (bits >= 8)
            {
                data[o++] = (byte)(value >> (bits - 8));
                bits -= 8;
            }
        }
        return (value & ((1 << bits) - 1)) == 0;
    }
}
