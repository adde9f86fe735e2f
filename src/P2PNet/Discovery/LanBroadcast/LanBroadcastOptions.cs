using System.Net;

namespace P2PNet.Discovery.LanBroadcast;

/// <summary>Settings of <see cref="LanBroadcastDiscovery"/>; every limit has a documented default.</summary>
public sealed record LanBroadcastOptions
{
    /// <summary>The UDP port announcements are sent to and received on. Default 45454.</summary>
    public int Port { get; init; } = 45454;

    /// <summary>The IPv4 multicast group also announced to (null: subnet broadcast only). Default 239.255.42.99 (organization-local scope).</summary>
    public IPAddress? MulticastGroup { get; init; } = IPAddress.Parse("239.255.42.99");

    /// <summary>Send to each interface's IPv4 subnet broadcast address. Default true.</summary>
    public bool SubnetBroadcast { get; init; } = true;

    /// <summary>Only nodes announcing this network name are reported. Default <c>p2pnet</c>.</summary>
    public string NetworkName { get; init; } = "p2pnet";

    /// <summary>Pin discovery to one interface, by name (e.g. <c>lo</c>) or address; null uses every up interface. Default null.</summary>
    public string? Interface { get; init; }

    /// <summary>Time between announcements. Default 5 s.</summary>
    public TimeSpan AnnounceInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Announcements accepted per second from one sender IP address; more are dropped. Default 10.</summary>
    public int MaxAnnouncementsPerSecondPerSender { get; init; } = 10;

    /// <summary>Announcements accepted per second in total; more are dropped. Default 200.</summary>
    public int MaxAnnouncementsPerSecond { get; init; } = 200;

    /// <summary>Most senders tracked by the rate limiter (oldest forgotten). Default 1024.</summary>
    public int MaxTrackedSenders { get; init; } = 1024;
}
