using P2PNet.Core;
using P2PNet.Peers;

namespace P2PNet.Hosting;

/// <summary>
/// The <c>P2PNet</c> configuration section, as plain strings and numbers (appsettings.json, environment
/// variables such as <c>P2PNet__ListenAddresses__0</c>, command line). Unset values keep the
/// <see cref="PeerNetworkOptions"/> defaults; <see cref="ToOptions"/> turns the section into options.
/// </summary>
public sealed class P2PNetSettings
{
    /// <summary>The configuration section's default name.</summary>
    public const string SectionName = "P2PNet";

    /// <summary>Key file (libp2p private-key protobuf), created with mode 0600 when missing; unset: a fresh identity per run.</summary>
    public string? KeyFile { get; set; }

    /// <summary>Multiaddrs to listen on, e.g. <c>/ip4/0.0.0.0/tcp/4001</c>; unset: <c>/ip4/0.0.0.0/tcp/0</c>.</summary>
    public List<string> ListenAddresses { get; set; } = [];

    /// <summary>Peers to connect to once started (full multiaddrs, <c>/p2p/</c> recommended); failures are logged, not fatal.</summary>
    public List<string> Peers { get; set; } = [];

    /// <summary>See <see cref="PeerNetworkOptions.NetworkName"/>.</summary>
    public string? NetworkName { get; set; }

    /// <summary>See <see cref="PeerNetworkOptions.DisplayName"/>.</summary>
    public string? DisplayName { get; set; }

    /// <summary>See <see cref="PeerNetworkOptions.MaxKnownPeers"/>.</summary>
    public int? MaxKnownPeers { get; set; }

    /// <summary>See <see cref="PeerNetworkOptions.InboundQueueCapacity"/>.</summary>
    public int? InboundQueueCapacity { get; set; }

    /// <summary>See <see cref="PeerNetworkOptions.SendQueueCapacity"/>.</summary>
    public int? SendQueueCapacity { get; set; }

    /// <summary>See <see cref="PeerNetworkOptions.MaxFrameLength"/>.</summary>
    public int? MaxFrameLength { get; set; }

    /// <summary>See <see cref="PeerNetworkOptions.MaxConnectRetries"/>.</summary>
    public int? MaxConnectRetries { get; set; }

    /// <summary>See <see cref="Swarm.SwarmOptions.MaxConnections"/>.</summary>
    public int? MaxConnections { get; set; }

    /// <summary>See <see cref="Swarm.SwarmOptions.MaxPendingInboundHandshakes"/>.</summary>
    public int? MaxPendingInboundHandshakes { get; set; }

    /// <summary>See <see cref="Upgrade.UpgradeOptions.HandshakeTimeout"/> (e.g. <c>00:00:10</c>).</summary>
    public TimeSpan? HandshakeTimeout { get; set; }

    /// <summary>See <see cref="PeerNetworkOptions.ChannelOpenTimeout"/>.</summary>
    public TimeSpan? ChannelOpenTimeout { get; set; }

    /// <summary>
    /// The options these settings describe, on top of the defaults (without <see cref="PeerNetworkOptions.Identity"/>,
    /// which the caller loads from <see cref="KeyFile"/>).
    /// </summary>
    /// <exception cref="FormatException">A listen address or limit is malformed; the message names the setting.</exception>
    public PeerNetworkOptions ToOptions()
    {
        var options = new PeerNetworkOptions();
        if (ListenAddresses.Count > 0) options = options with { ListenAddresses = [.. ListenAddresses.Select((a, i) => ParseAddress(a, $"{SectionName}:ListenAddresses:{i}"))] };
        if (NetworkName is not null) options = options with { NetworkName = NetworkName };
        if (DisplayName is not null) options = options with { DisplayName = DisplayName };
        if (MaxKnownPeers is { } known) options = options with { MaxKnownPeers = Positive(known, nameof(MaxKnownPeers)) };
        if (InboundQueueCapacity is { } inbound) options = options with { InboundQueueCapacity = Positive(inbound, nameof(InboundQueueCapacity)) };
        if (SendQueueCapacity is { } send) options = options with { SendQueueCapacity = Positive(send, nameof(SendQueueCapacity)) };
        if (MaxFrameLength is { } frame) options = options with { MaxFrameLength = Positive(frame, nameof(MaxFrameLength)) };
        if (MaxConnectRetries is { } retries) options = options with { MaxConnectRetries = retries >= 0 ? retries : throw Invalid(nameof(MaxConnectRetries), retries) };
        if (ChannelOpenTimeout is { } open) options = options with { ChannelOpenTimeout = Positive(open, nameof(ChannelOpenTimeout)) };
        var swarm = options.Swarm;
        if (MaxConnections is { } connections) swarm = swarm with { MaxConnections = Positive(connections, nameof(MaxConnections)) };
        if (MaxPendingInboundHandshakes is { } pending) swarm = swarm with { MaxPendingInboundHandshakes = Positive(pending, nameof(MaxPendingInboundHandshakes)) };
        if (HandshakeTimeout is { } handshake) swarm = swarm with { Upgrade = swarm.Upgrade with { HandshakeTimeout = Positive(handshake, nameof(HandshakeTimeout)) } };
        return options with { Swarm = swarm };
    }

    /// <summary>The <see cref="Peers"/> as multiaddrs.</summary>
    /// <exception cref="FormatException">An address is malformed; the message names the setting.</exception>
    public IReadOnlyList<Multiaddr> PeerAddresses() => [.. Peers.Select((a, i) => ParseAddress(a, $"{SectionName}:Peers:{i}"))];

    private static Multiaddr ParseAddress(string text, string key)
    {
        try
        {
            return Multiaddr.Parse(text);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"{key}: '{text}' is not a multiaddr ({ex.Message})", ex);
        }
    }

    private static int Positive(int value, string name) => value > 0 ? value : throw Invalid(name, value);

    private static TimeSpan Positive(TimeSpan value, string name) => value > TimeSpan.Zero ? value : throw Invalid(name, value);

    private static FormatException Invalid(string name, object value) => new($"{SectionName}:{name}: {value} is out of range");
}
