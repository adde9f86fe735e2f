using System.CommandLine;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.Extensions.Logging;
using P2PNet.Core;

namespace P2PNet.Cli;

/// <summary>Options shared by several commands.</summary>
internal static class CliOptions
{
    public static string DefaultKeyPath =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config"), "p2pnet", "identity.key");

    public static Option<string> Key() => new("--key")
    {
        Description = "Identity key file (libp2p private-key protobuf, created with mode 0600 on first use)",
        DefaultValueFactory = _ => DefaultKeyPath,
    };

    public static Option<bool> Verbose() => new("--verbose", "-v") { Description = "Log debug detail to standard error (same as --log-level debug)" };

    /// <summary>--log-level: what goes to standard error; wins over -v.</summary>
    public static Option<LogLevel?> LogLevel() => new("--log-level")
    {
        HelpName = "level",
        Description = "Least severe log level written to standard error: trace, debug, information, warning, error, critical or none (default warning)",
    };

    /// <summary>--json: one JSON object per line on standard output.</summary>
    public static Option<bool> Json() => new("--json") { Description = "Write one JSON object per line (with a \"type\" field) instead of text" };

    /// <summary>The log level asked for: --log-level, else debug with -v, else <paramref name="fallback"/>.</summary>
    public static LogLevel Level(ParseResult parse, Option<bool> verbose, Option<LogLevel?> level, LogLevel fallback = Microsoft.Extensions.Logging.LogLevel.Warning) =>
        parse.GetValue(level) ?? (parse.GetValue(verbose) ? Microsoft.Extensions.Logging.LogLevel.Debug : fallback);

    /// <summary>
    /// Checks a numeric option's range on its token, so that a value that is not a number at all is left to the
    /// parser's own error (reading the typed value of an unparsable token throws).
    /// </summary>
    public static void AddRange(Option option, double min, double max, string message) =>
        option.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && double.TryParse(r.Tokens[^1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && !(v >= min && v <= max))
                r.AddError(message);
        });

    /// <summary>--key for commands that may run with a throwaway identity (see <see cref="KeyFile.LoadOrEphemeralAsync"/>).</summary>
    public static Option<string?> OptionalKey() => new("--key") { Description = "Identity key file; an ephemeral identity is used when omitted" };

    /// <summary>--listen (repeatable) with one default address.</summary>
    public static Option<string[]> Listen(string defaultAddress) => new("--listen", "-l")
    {
        Description = "Multiaddr to listen on (repeatable); port 0 picks a free port",
        DefaultValueFactory = _ => [defaultAddress],
    };

    /// <summary>The --listen addresses; null after writing the usage error when one is not a TCP multiaddr like <paramref name="example"/>.</summary>
    public static List<Multiaddr>? ParseListen(ParseResult parse, Option<string[]> listen, string example)
    {
        try
        {
            return ListenAddresses(parse, listen, example);
        }
        catch (CliException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return null;
        }
    }

    /// <summary>The --listen addresses; throws the usage error when one is not a TCP multiaddr like <paramref name="example"/>.</summary>
    public static List<Multiaddr> ListenAddresses(ParseResult parse, Option<string[]> listen, string example)
    {
        var addresses = new List<Multiaddr>();
        foreach (string text in parse.GetValue(listen)!)
        {
            if (!Multiaddr.TryParse(text, out var address) || address.ToIPEndPoint() is null)
                throw new CliException($"--listen '{text}' is not a TCP multiaddr like {example}", CliExit.Usage);
            addresses.Add(address);
        }
        return addresses;
    }

    /// <summary>True when <paramref name="text"/> is a dialable TCP multiaddr (the message for a bad one is <see cref="NotAPeerAddress"/>).</summary>
    public static bool TryParsePeer(string? text, [NotNullWhen(true)] out Multiaddr? address) =>
        Multiaddr.TryParse(text, out address) && address.TcpTarget is not null;

    /// <summary>--public-cidr (repeatable): address ranges treated as public (AutoNAT, DCUtR; labs whose "internet" is a private range).</summary>
    public static Option<string[]> PublicCidr() => new("--public-cidr")
    {
        HelpName = "cidr",
        Description = "Treat this address range as public for AutoNAT and hole punching (repeatable), e.g. 198.18.0.0/15 in a lab",
    };

    /// <summary>The --public-cidr ranges; throws the usage error for one that is not a CIDR.</summary>
    public static List<System.Net.IPNetwork> ParsePublicCidrs(ParseResult parse, Option<string[]> option)
    {
        var result = new List<System.Net.IPNetwork>();
        foreach (string text in parse.GetValue(option) ?? [])
        {
            if (!System.Net.IPNetwork.TryParse(text, out var network))
                throw new CliException($"--public-cidr '{text}' is not a CIDR like 198.18.0.0/15", CliExit.Usage);
            result.Add(network);
        }
        return result;
    }

    /// <summary>The line <c>listen</c> and <c>chat</c> print when AutoNAT settles our reachability; null for unknown.</summary>
    public static string? ReachabilityLine(P2PNet.Protocols.AutoNat.Reachability reachability) => reachability switch
    {
        P2PNet.Protocols.AutoNat.Reachability.Public => "* reachability public (autonat)",
        P2PNet.Protocols.AutoNat.Reachability.Private => "* reachability private (autonat)",
        _ => null,
    };
    /// <summary>A relayed peer address: <c>…/tcp/PORT/p2p/RELAY/p2p-circuit/p2p/TARGET</c>.</summary>
    public static bool TryParseCircuit(string? text, [NotNullWhen(true)] out Multiaddr? address) =>
        Multiaddr.TryParse(text, out address) && address.SplitCircuit() is ({ } relay, not null) && relay.WithoutPeerId().TcpTarget is not null;

    /// <summary>--relay (repeatable): relay multiaddrs ADDR/p2p/RELAY; a usage error for anything else.</summary>
    public static List<Multiaddr> ParseRelays(ParseResult parse, Option<string[]> option)
    {
        var result = new List<Multiaddr>();
        foreach (string text in parse.GetValue(option) ?? [])
        {
            if (!Multiaddr.TryParse(text, out var relay) || relay.PeerId is null || relay.IsCircuit)
                throw new CliException($"'{text}' is not a relay multiaddr like /ip4/127.0.0.1/tcp/4001/p2p/<PeerId>", CliExit.Usage);
            result.Add(relay);
        }
        return result;
    }

    /// <summary>Keeps a reservation on each relay; returns the circuit addresses <c>RELAY/p2p-circuit</c> (without our /p2p/).</summary>
    public static async Task<List<Multiaddr>> ReserveAsync(P2PNet.Protocols.Relay.RelayClient? client, IReadOnlyList<Multiaddr> relays, CancellationToken ct)
    {
        var circuits = new List<Multiaddr>();
        foreach (var relay in relays)
        {
            try
            {
                var reservation = await client!.AddRelayAsync(relay, ct).ConfigureAwait(false);
                circuits.Add(reservation.CircuitAddress);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                throw new CliException($"cannot reserve on relay {relay}: {ex.Message}", CliExit.Failure, ex);
            }
        }
        return circuits;
    }

    /// <summary>--auto-relay: relays chosen among connected hop peers, fed by AutoNAT's verdict (private reserves, public releases).</summary>
    public static P2PNet.Protocols.Relay.AutoRelay StartAutoRelay(P2PNet.Swarm.SwarmHost host, P2PNet.Protocols.Relay.RelayClient client,
        P2PNet.Protocols.AutoNat.AutoNatService autonat, ILoggerFactory loggers)
    {
        var auto = new P2PNet.Protocols.Relay.AutoRelay(host, client, loggerFactory: loggers);
        void Feed(P2PNet.Protocols.AutoNat.Reachability reachability) => auto.UpdateReachability(reachability switch
        {
            P2PNet.Protocols.AutoNat.Reachability.Public => true,
            P2PNet.Protocols.AutoNat.Reachability.Private => false,
            _ => null,
        });
        autonat.ReachabilityChanged += (_, e) => Feed(e.Current);
        Feed(autonat.Reachability);
        return auto;
    }

    /// <summary>What to say about a text that <see cref="TryParsePeer"/> refused.</summary>
    public static string NotAPeerAddress(string? text) => $"'{text}' is not a TCP multiaddr like /ip4/127.0.0.1/tcp/4001/p2p/<PeerId>";
}
