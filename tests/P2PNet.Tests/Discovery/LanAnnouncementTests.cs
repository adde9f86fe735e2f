using P2PNet.Core;
using P2PNet.Discovery;
using P2PNet.Discovery.LanBroadcast;

namespace P2PNet.Tests.Discovery;

/// <summary>The LAN announcement codec, without sockets (runs in every test run, not only in the namespace).</summary>
public sealed class LanAnnouncementTests
{
    [Fact]
    public void Announcement_codec_round_trips_and_rejects_bad_input()
    {
        using var id = Identity.Generate();
        var a = new LanAnnouncement("net", id.PeerId, [Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001"), Multiaddr.Parse("/ip6/::1/tcp/4001")]);
        var back = LanAnnouncement.Decode(a.Encode());
        Assert.Equal(a.NetworkName, back.NetworkName);
        Assert.Equal(a.PeerId, back.PeerId);
        Assert.Equal(a.Addresses, back.Addresses);
        var bytes = a.Encode();
        for (int cut = 0; cut < bytes.Length; cut++)
            Assert.Equal(DiscoveryError.Malformed, Assert.Throws<DiscoveryException>(() => LanAnnouncement.Decode(bytes.AsSpan(0, cut))).Error);
        var random = new Random(1);
        for (int i = 0; i < 2000; i++)
        {
            var junk = (byte[])bytes.Clone();
            junk[8 + random.Next(junk.Length - 8)] = (byte)random.Next(256);
            try { LanAnnouncement.Decode(junk); }
            catch (DiscoveryException) { }
        }
        Assert.Throws<DiscoveryException>(() => LanAnnouncement.Decode(new byte[LanAnnouncement.MaxDatagramLength + 1]));
    }
}
