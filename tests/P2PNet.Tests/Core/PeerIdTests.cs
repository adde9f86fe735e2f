using P2PNet.Core;

namespace P2PNet.Tests.Core;

public class PeerIdTests
{
    // Test vector from the libp2p peer-ids spec: Ed25519 public key protobuf and its PeerId.
    [Fact]
    public void Ed25519_peer_id_matches_spec_vector()
    {
        byte[] proto = Convert.FromHexString("080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e");
        var key = PublicKey.FromProtobuf(proto);
        Assert.Equal(KeyType.Ed25519, key.Type);
        Assert.Equal(proto, key.ToProtobuf());
        Assert.Equal("12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq", key.ToPeerId().ToString());
    }

    [Fact]
    public void Text_round_trips_and_key_is_inlined()
    {
        using var id = Identity.Generate();
        var parsed = PeerId.Parse(id.PeerId.ToString());
        Assert.Equal(id.PeerId, parsed);
        Assert.StartsWith("12D3KooW", parsed.ToString());
        Assert.Equal(id.PublicKey, parsed.TryGetPublicKey());
    }

    // Parse keeps the text it was given (base58btc is one-to-one): it must equal the text re-encoded from the bytes.
    [Fact]
    public void Parsed_text_is_the_canonical_text()
    {
        using var id = Identity.Generate();
        string text = id.PeerId.ToString();
        var parsed = PeerId.Parse(text);
        Assert.Equal(text, parsed.ToString());
        Assert.Equal(text, PeerId.FromBytes(parsed.Bytes).ToString());
        Assert.Equal(parsed.GetHashCode(), PeerId.FromBytes(parsed.Bytes).GetHashCode());
    }

    [Theory]
    [InlineData("")]
    [InlineData("0OIl")]
    [InlineData("12D3KooW")]
    [InlineData("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N0")]
    public void Malformed_text_is_rejected(string text) => Assert.False(PeerId.TryParse(text, out _));

    [Fact]
    public async Task Key_file_is_created_with_mode_0600_and_reloads_the_same_identity()
    {
        string dir = Directory.CreateTempSubdirectory("p2pnet-key").FullName;
        try
        {
            string path = Path.Combine(dir, "sub", "node.key");
            using var first = await Identity.LoadOrCreateAsync(path);
            using var second = await Identity.LoadOrCreateAsync(path);
            Assert.Equal(first.PeerId, second.PeerId);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            byte[] sig = first.Sign("hello"u8);
            Assert.True(second.PublicKey.Verify("hello"u8, sig));
            Assert.False(second.PublicKey.Verify("hellO"u8, sig));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
