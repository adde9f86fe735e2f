using System.Net;
using System.Net.Sockets;
using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>
/// Our addresses as peers report them (go-libp2p p2p/protocol/identify/obsaddr.go as the model). Each live
/// connection holds its latest observation; an address counts once per distinct observer (an IPv4 address or an
/// IPv6 /56, so one host with many connections cannot confirm alone) and is confirmed at the threshold. Only
/// observations on inbound connections confirm: an outbound connection's observed port is an ephemeral one a
/// peer could not dial. Bounded by the number of connections; forgotten with the connection.
/// </summary>
internal sealed class ObservedAddressBook(int threshold)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<object, Observation> _byConnection = new(ReferenceEqualityComparer.Instance);

    public int Threshold { get; } = threshold >= 1 ? threshold : throw new ArgumentOutOfRangeException(nameof(threshold));

    /// <summary>Records what the peer on <paramref name="connection"/> sees; true when the confirmed set changed.</summary>
    public bool Record(object connection, Multiaddr observed, IPAddress observer, bool inbound)
    {
        if (ThinWaist(observed) is not { } address) return false;
        var observation = new Observation(address, ObserverGroup(observer), inbound);
        lock (_lock)
        {
            var before = ConfirmedLocked();
            _byConnection[connection] = observation;
            return !before.SetEquals(ConfirmedLocked());
        }
    }

    /// <summary>Forgets the observation of a closed connection; true when the confirmed set changed.</summary>
    public bool Remove(object connection)
    {
        lock (_lock)
        {
            if (!_byConnection.ContainsKey(connection)) return false;
            var before = ConfirmedLocked();
            _byConnection.Remove(connection);
            return !before.SetEquals(ConfirmedLocked());
        }
    }

    public IReadOnlyList<ObservedAddress> Candidates()
    {
        lock (_lock)
        {
            var confirmed = ConfirmedLocked();
            return [.. _byConnection.Values.GroupBy(o => o.Address).Select(g =>
            {
                int observers = g.Select(o => o.Observer).Distinct().Count();
                int inbound = g.Where(o => o.Inbound).Select(o => o.Observer).Distinct().Count();
                return new ObservedAddress(g.Key, observers, inbound, confirmed.Contains(g.Key));
            }).OrderByDescending(o => o.Observers).ThenBy(o => o.Address.ToString(), StringComparer.Ordinal)];
        }
    }

    public IReadOnlyList<Multiaddr> Confirmed()
    {
        lock (_lock) return [.. ConfirmedLocked().Order(Comparer<Multiaddr>.Create((a, b) => string.CompareOrdinal(a.ToString(), b.ToString())))];
    }

    /// <summary>Most confirmed addresses announced (the best observed first), so our identify stays well inside its 8 KiB.</summary>
    public const int MaxConfirmed = 8;

    private HashSet<Multiaddr> ConfirmedLocked() =>
        [.. _byConnection.Values.Where(o => o.Inbound).GroupBy(o => o.Address)
            .Select(g => (g.Key, Observers: g.Select(o => o.Observer).Distinct().Count()))
            .Where(g => g.Observers >= Threshold)
            .OrderByDescending(g => g.Observers).ThenBy(g => g.Key.ToString(), StringComparer.Ordinal)
            .Take(MaxConfirmed).Select(g => g.Key)];

    /// <summary>The IP and TCP port of <paramref name="address"/> (the "thin waist"); null for anything else.</summary>
    internal static Multiaddr? ThinWaist(Multiaddr address)
    {
        var c = address.Components;
        if (c.Count < 2 || c[1].Protocol != MultiaddrProtocol.Tcp) return null;
        if (c[0].Protocol is not (MultiaddrProtocol.Ip4 or MultiaddrProtocol.Ip6)) return null;
        return Multiaddr.TryParse($"/{Name(c[0].Protocol)}/{c[0].Value}/tcp/{c[1].Value}", out var thin) ? thin : null;
    }

    private static string Name(MultiaddrProtocol protocol) => protocol == MultiaddrProtocol.Ip4 ? "ip4" : "ip6";

    internal static string ObserverGroup(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (ip.AddressFamily != AddressFamily.InterNetworkV6) return ip.ToString();
        Span<byte> bytes = stackalloc byte[16];
        ip.TryWriteBytes(bytes, out _);
        bytes[7..].Clear(); // a /56: one site, however many addresses it uses
        return new IPAddress(bytes).ToString() + "/56";
    }

    private sealed record Observation(Multiaddr Address, string Observer, bool Inbound);
}
