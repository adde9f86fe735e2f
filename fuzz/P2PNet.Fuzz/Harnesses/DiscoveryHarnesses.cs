using P2PNet.Discovery;
using P2PNet.Discovery.LanBroadcast;
using P2PNet.Discovery.Mdns;

namespace P2PNet.Fuzz.Harnesses;

/// <summary>Datagram codecs read from the LAN: DNS (mDNS) and the LAN-broadcast announcement.</summary>
internal static class DiscoveryHarnesses
{
    public static Task DnsAsync(byte[] input)
    {
        try
        {
            var message = DnsCodec.Decode(input);
            // mDNS answers what it decoded: re-encoding must not fail, and must decode again.
            DnsCodec.Decode(DnsCodec.Encode(message));
        }
        catch (DnsFormatException)
        {
        }
        return Task.CompletedTask;
    }

    public static Task LanAnnouncementAsync(byte[] input)
    {
        try
        {
            var announcement = LanAnnouncement.Decode(input);
            var again = LanAnnouncement.Decode(announcement.Encode());
            FuzzFailureException.Check(again.PeerId.Equals(announcement.PeerId) && again.Addresses.Count == announcement.Addresses.Count,
                "LAN announcement round trip differs");
        }
        catch (DiscoveryException)
        {
        }
        return Task.CompletedTask;
    }
}
