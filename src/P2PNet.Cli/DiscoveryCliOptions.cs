using System.CommandLine;
using System.Globalization;
using P2PNet.Discovery;
using P2PNet.Discovery.LanBroadcast;
using P2PNet.Discovery.Mdns;

namespace P2PNet.Cli;

/// <summary>
/// The discovery options of <c>chat</c> and <c>listen</c>. Multicast and broadcast are off unless asked for:
/// a node started on a machine must not announce itself on the LAN by surprise.
/// </summary>
internal sealed class DiscoveryCliOptions
{
    private readonly Option<bool> _mdns = new("--mdns")
    {
        Description = "Find peers with libp2p mDNS (_p2p._udp.local, multicast 224.0.0.251 and ff02::fb port 5353 on the local link); off by default",
    };

    private readonly Option<bool> _broadcast = new("--broadcast")
    {
        Description = "Find peers with P2PNet LAN broadcast (UDP subnet broadcast and multicast 239.255.42.99; IPv4 only); off by default",
    };

    private readonly Option<string?> _interface = new("--discovery-interface")
    {
        HelpName = "name|address",
        Description = "Run --mdns and --broadcast on this interface only, given by name (eth0) or address; default every up interface",
    };

    private readonly Option<string?> _networkName;

    private readonly Option<int?> _broadcastPort = new("--broadcast-port") { HelpName = "port", Description = "LAN broadcast UDP port (default 45454)" };

    private readonly Option<bool> _noBroadcastMulticast = new("--no-broadcast-multicast")
    {
        Description = "LAN broadcast to the subnet broadcast address only, not to its multicast group",
    };

    // Test knob: mDNS query, broadcast announce and auto-connect interval. Hidden: the defaults suit real networks.
    private readonly Option<int?> _interval = new("--discovery-interval")
    {
        Description = "Milliseconds between mDNS queries, broadcast announcements and auto-connect rounds (tests)",
        HelpName = "ms",
        Hidden = true,
    };

    /// <param name="hasNetworkOption">The command has --network (chat), whose name is the broadcast default; listen has none.</param>
    public DiscoveryCliOptions(bool hasNetworkOption)
    {
        _networkName = new("--network-name")
        {
            HelpName = "name",
            Description = "LAN broadcast network name: announcements of other names are ignored (default: " +
                          (hasNetworkOption ? "the --network name, else p2pnet)" : "p2pnet)"),
        };
        CliOptions.AddRange(_broadcastPort, 1, 65535, "--broadcast-port must be 1-65535");
        CliOptions.AddRange(_interval, 10, 3_600_000, "--discovery-interval must be 10-3600000 ms");
    }

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _mdns, _broadcast, _interface, _networkName, _broadcastPort, _noBroadcastMulticast, _interval })
            command.Options.Add(option);
    }

    /// <summary>True when mDNS or broadcast is asked for.</summary>
    public bool AnyMechanism(ParseResult parse) => parse.GetValue(_mdns) || parse.GetValue(_broadcast);

    /// <summary>The --discovery-interval, if given.</summary>
    public TimeSpan? Interval(ParseResult parse) => parse.GetValue(_interval) is { } ms ? TimeSpan.FromMilliseconds(ms) : null;

    /// <summary>
    /// Checks the combination (exit code 2) and the interface pin (exit code 1) before anything starts, so that
    /// a mistake is one clear line; null when fine.
    /// </summary>
    public (string Message, int ExitCode)? Check(ParseResult parse)
    {
        bool mdns = parse.GetValue(_mdns), broadcast = parse.GetValue(_broadcast);
        // Name only what was typed: --discovery-interval is a hidden test knob.
        if (!mdns && !broadcast && parse.GetValue(_interface) is not null) return ("--discovery-interface needs --mdns or --broadcast", 2);
        if (!mdns && !broadcast && parse.GetValue(_interval) is not null) return ("--discovery-interval needs --mdns or --broadcast", 2);
        if (!broadcast && (parse.GetValue(_networkName) is not null || parse.GetValue(_broadcastPort) is not null || parse.GetValue(_noBroadcastMulticast)))
            return ("--network-name, --broadcast-port and --no-broadcast-multicast need --broadcast", 2);
        if (!mdns && !broadcast) return null;
        string? pin = parse.GetValue(_interface);
        try
        {
            var interfaces = DiscoveryInterface.Select(pin);
            // mDNS also runs over IPv6; LAN broadcast needs IPv4.
            if (mdns && !interfaces.Any(i => i.SupportsIPv4 || i.SupportsIPv6))
                return (pin is null ? "discovery: no up interface has an address mDNS can use" : $"discovery: interface '{pin}' has no address mDNS can use", 1);
            if (broadcast && !interfaces.Any(i => i.SupportsIPv4))
                return (pin is null ? "discovery: no up interface has an IPv4 address (--broadcast is IPv4 only)" : $"discovery: interface '{pin}' has no IPv4 address (--broadcast is IPv4 only)", 1);
        }
        catch (DiscoveryException ex)
        {
            return ("discovery: " + ex.Message, 1);
        }
        return null;
    }

    /// <summary>The mechanisms asked for, not started (mDNS first).</summary>
    public IReadOnlyList<IPeerDiscovery> Create(ParseResult parse, string defaultNetworkName, Microsoft.Extensions.Logging.ILoggerFactory loggers)
    {
        var result = new List<IPeerDiscovery>();
        string? pin = parse.GetValue(_interface);
        var interval = Interval(parse);
        if (parse.GetValue(_mdns))
        {
            var options = new MdnsOptions { Interface = pin };
            if (interval is { } i) options = options with { QueryInterval = i };
            result.Add(new MdnsDiscovery(options, loggers));
        }
        if (parse.GetValue(_broadcast))
        {
            var options = new LanBroadcastOptions
            {
                Interface = pin,
                NetworkName = parse.GetValue(_networkName) ?? defaultNetworkName,
            };
            if (parse.GetValue(_broadcastPort) is { } port) options = options with { Port = port };
            if (parse.GetValue(_noBroadcastMulticast)) options = options with { MulticastGroup = null };
            if (interval is { } i) options = options with { AnnounceInterval = i };
            result.Add(new LanBroadcastDiscovery(options, loggers));
        }
        return result;
    }

    /// <summary>
    /// The lines that say where a started mechanism runs, one per interface:
    /// <c>* discovery mdns on eth0 10.0.0.2 fd00::2 (group 224.0.0.251:5353 [ff02::fb]:5353)</c> (IPv6 link-local
    /// addresses left out: they are not announced).
    /// </summary>
    public static IEnumerable<string> Describe(IPeerDiscovery discovery)
    {
        switch (discovery)
        {
            case MdnsDiscovery mdns:
                foreach (var nic in mdns.Interfaces)
                {
                    bool v6 = mdns.Options.IPv6 && nic.SupportsIPv6;
                    var groups = new List<string>();
                    if (nic.SupportsIPv4) groups.Add($"{mdns.Options.MulticastGroup}:{mdns.Options.Port.ToString(CultureInfo.InvariantCulture)}");
                    if (v6) groups.Add($"[{mdns.Options.MulticastGroupV6}]:{mdns.Options.Port.ToString(CultureInfo.InvariantCulture)}");
                    var addresses = nic.IPv4.Select(a => a.Address.ToString())
                        .Concat(v6 ? nic.IPv6.Where(a => !a.IsIPv6LinkLocal).Select(a => a.ToString()) : []);
                    yield return $"* discovery mdns on {nic.Name} {string.Join(' ', addresses)} (group {string.Join(' ', groups)})";
                }
                break;
            case LanBroadcastDiscovery lan:
                foreach (var nic in lan.Interfaces)
                {
                    var targets = new List<string>();
                    if (lan.Options.SubnetBroadcast) targets.AddRange(nic.IPv4.Select(a => a.Broadcast.ToString()).Distinct());
                    if (lan.Options.MulticastGroup is { } group) targets.Add(group.ToString());
                    yield return $"* discovery broadcast on {nic.Name} {Addresses(nic)} (to {string.Join(' ', targets)} port " +
                                 $"{lan.Options.Port.ToString(CultureInfo.InvariantCulture)}, network {lan.Options.NetworkName})";
                }
                break;
            default:
                yield return $"* discovery {discovery.Source}";
                break;
        }
    }

    private static string Addresses(DiscoveryInterface nic) => string.Join(' ', nic.IPv4.Select(a => a.Address.ToString()));
}
