using System.Text;
using P2PNet.Core;

namespace P2PNet.Fuzz.Harnesses;

/// <summary>Multiaddr (text and binary), key protobufs and PeerIds: pure codecs that throw FormatException.</summary>
internal static class CoreHarnesses
{
    public static Task MultiaddrTextAsync(byte[] input)
    {
        Multiaddr parsed;
        try
        {
            parsed = Multiaddr.Parse(Encoding.UTF8.GetString(input));
        }
        catch (FormatException)
        {
            return Task.CompletedTask;
        }
        CheckRoundTrips(parsed);
        return Task.CompletedTask;
    }

    public static Task MultiaddrBinaryAsync(byte[] input)
    {
        Multiaddr parsed;
        try
        {
            parsed = Multiaddr.FromBytes(input);
        }
        catch (FormatException)
        {
            return Task.CompletedTask;
        }
        CheckRoundTrips(parsed);
        return Task.CompletedTask;
    }

    // What one form accepts, the other must carry unchanged: peers exchange both.
    private static void CheckRoundTrips(Multiaddr parsed)
    {
        string text = parsed.ToString();
        FuzzFailureException.Check(Multiaddr.Parse(text).Equals(parsed), $"text round trip changed {text}");
        FuzzFailureException.Check(Multiaddr.FromBytes(parsed.ToBytes()).Equals(parsed), $"binary round trip changed {text}");
        _ = parsed.TcpTarget;
        _ = parsed.PeerId;
    }

    public static Task KeyAsync(byte[] input)
    {
        try
        {
            var key = PublicKey.FromProtobuf(input);
            FuzzFailureException.Check(PublicKey.FromProtobuf(key.ToProtobuf()).Equals(key), "public key round trip differs");
            _ = key.Verify("message"u8, new byte[64]);
            _ = key.ToPeerId();
        }
        catch (FormatException)
        {
        }
        try
        {
            var id = PeerId.FromBytes(input);
            FuzzFailureException.Check(PeerId.Parse(id.ToString()).Equals(id), "PeerId text round trip differs");
            _ = id.TryGetPublicKey();
        }
        catch (FormatException)
        {
        }
        try
        {
            using var identity = Identity.ImportPrivateKeyProtobuf(input);
        }
        catch (FormatException)
        {
        }
        return Task.CompletedTask;
    }

    public static Task PeerIdTextAsync(byte[] input)
    {
        string text = Encoding.UTF8.GetString(input);
        try
        {
            var id = PeerId.Parse(text);
            FuzzFailureException.Check(PeerId.FromBytes(id.Bytes).Equals(id), "PeerId binary round trip differs");
        }
        catch (FormatException)
        {
        }
        _ = PeerId.TryParse(text, out _);
        return Task.CompletedTask;
    }
}
