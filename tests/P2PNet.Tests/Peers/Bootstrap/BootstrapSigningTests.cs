using System.Buffers.Binary;
using System.Text;
using P2PNet.Core;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Tests.Peers.Bootstrap;

public class BootstrapSigningTests
{
    private static BootstrapRegistration Signed(Identity identity, params string[] addresses) => BootstrapSigning.Sign(new BootstrapRegistration
    {
        PeerId = identity.PeerId.ToString(),
        Addresses = addresses,
        Network = "net-\u00e9",
        Timestamp = -1_700_000_000_123,
    }, identity);

    // The signed layout is the wire contract: each field a 4-byte big-endian length and its UTF-8 bytes, numbers as
    // invariant decimal text. Built here by hand so that a change in how the library writes it cannot go unnoticed.
    [Fact]
    public void Registration_bytes_keep_their_layout()
    {
        static void Field(List<byte> to, string text)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(text);
            byte[] length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, utf8.Length);
            to.AddRange(length);
            to.AddRange(utf8);
        }
        var expected = new List<byte>();
        foreach (string field in (string[])[BootstrapSigning.RegistrationDomain, "12D3KooWpeer", "net-\u00e9", "-1700000000123", "2", "/ip4/1.2.3.4/tcp/1", "/ip6/::1/tcp/2"])
            Field(expected, field);
        Assert.Equal(expected.ToArray(), BootstrapSigning.RegistrationBytes("12D3KooWpeer", "net-\u00e9", -1_700_000_000_123, ["/ip4/1.2.3.4/tcp/1", "/ip6/::1/tcp/2"]));
    }

    [Fact]
    public void A_signed_registration_verifies_with_or_without_a_parsed_PeerId()
    {
        using var identity = Identity.FromSeed(new byte[32]);
        var registration = Signed(identity, "/ip4/1.2.3.4/tcp/1", "/ip4/5.6.7.8/tcp/2");
        Assert.True(BootstrapSigning.VerifyRegistration(registration));
        Assert.True(BootstrapSigning.VerifyRegistration(registration, PeerId.Parse(registration.PeerId)));
    }

    [Fact]
    public void Any_change_or_a_mismatched_PeerId_fails()
    {
        using var identity = Identity.FromSeed(new byte[32]);
        using var other = Identity.Generate();
        var registration = Signed(identity, "/ip4/1.2.3.4/tcp/1");
        var id = PeerId.Parse(registration.PeerId);
        Assert.False(BootstrapSigning.VerifyRegistration(registration with { Addresses = ["/ip4/1.2.3.5/tcp/1"] }, id));
        Assert.False(BootstrapSigning.VerifyRegistration(registration with { Network = "other" }, id));
        Assert.False(BootstrapSigning.VerifyRegistration(registration with { Timestamp = registration.Timestamp + 1 }, id));
        Assert.False(BootstrapSigning.VerifyRegistration(registration with { Signature = null }, id));
        Assert.False(BootstrapSigning.VerifyRegistration(registration with { Signature = "not base64!" }, id));
        Assert.False(BootstrapSigning.VerifyRegistration(registration with { Signature = Convert.ToBase64String(new byte[65]) }, id));
        // The caller's PeerId must be the registration's own: another key's PeerId is refused, not checked against.
        Assert.False(BootstrapSigning.VerifyRegistration(registration, other.PeerId));
        Assert.False(BootstrapSigning.VerifyRegistration(registration with { PeerId = other.PeerId.ToString() }));
    }
}
