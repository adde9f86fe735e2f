using System.Numerics;
using System.Text;
using P2PNet.Core;

namespace P2PNet.Tests.Core;

public class Base58Tests
{
    private const string Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    // Vectors from the base58btc draft (draft-msporny-base58) and the multibase test suite.
    [Theory]
    [InlineData("", "")]
    [InlineData("00", "1")]
    [InlineData("0000", "11")]
    [InlineData("61", "2g")]
    [InlineData("626262", "a3gV")]
    [InlineData("636363", "aPEr")]
    [InlineData("48656c6c6f20576f726c6421", "2NEpo7TZRRrLZSi2U")]
    [InlineData("00000000000000000000", "1111111111")]
    [InlineData("000000287fb4cd", "111233QC4")]
    public void Known_vectors(string hex, string text)
    {
        byte[] bytes = Convert.FromHexString(hex);
        Assert.Equal(text, Base58.Encode(bytes));
        Assert.Equal(bytes, Base58.Decode(text));
    }

    // The schoolbook conversion must agree with the plain big-integer definition on any input, leading zeros included.
    [Fact]
    public void Agrees_with_big_integer_reference_on_random_inputs()
    {
        var random = new Random(58);
        for (int n = 0; n < 2000; n++)
        {
            byte[] bytes = new byte[random.Next(0, 80)];
            random.NextBytes(bytes);
            if (bytes.Length > 0 && random.Next(4) == 0) bytes.AsSpan(0, random.Next(1, Math.Min(bytes.Length, 5) + 1)).Clear();
            string text = Base58.Encode(bytes);
            Assert.Equal(Reference(bytes), text);
            Assert.Equal(bytes, Base58.Decode(text));
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("O")]
    [InlineData("I")]
    [InlineData("l")]
    [InlineData("abc\u00e9")]
    [InlineData("abc\u0100")]
    public void Characters_outside_the_alphabet_are_rejected(string text) => Assert.Throws<FormatException>(() => Base58.Decode(text));

    [Fact]
    public void Longest_accepted_text_decodes_and_longer_is_rejected()
    {
        Assert.Equal(Base58.MaxTextLength, Base58.Encode(Base58.Decode(new string('z', Base58.MaxTextLength))).Length);
        Assert.Throws<FormatException>(() => Base58.Decode(new string('z', Base58.MaxTextLength + 1)));
    }

    private static string Reference(byte[] bytes)
    {
        int zeros = 0;
        while (zeros < bytes.Length && bytes[zeros] == 0) zeros++;
        var value = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
        var sb = new StringBuilder();
        while (value > 0)
        {
            value = BigInteger.DivRem(value, 58, out var rem);
            sb.Insert(0, Alphabet[(int)rem]);
        }
        return new string('1', zeros) + sb;
    }
}
