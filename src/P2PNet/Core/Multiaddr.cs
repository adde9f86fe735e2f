using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using P2PNet.Wire;

namespace P2PNet.Core;

/// <summary>
/// A self-describing network address (multiformats multiaddr) in text (<c>/ip4/1.2.3.4/tcp/4001/p2p/Qm…</c>)
/// and binary form. Immutable; values are validated on construction.
/// </summary>
public sealed class Multiaddr : IEquatable<Multiaddr>
{
    /// <summary>Most components accepted in one address.</summary>
    public const int MaxComponents = 16;

    /// <summary>Longest binary or text form accepted.</summary>
    public const int MaxLength = 1024;

    private const int MaxDnsNameLength = 253;
    private readonly MultiaddrComponent[] _components;
    private readonly string _text;

    private Multiaddr(MultiaddrComponent[] components)
    {
        if (components.Length > MaxComponents) throw new FormatException("multiaddr has too many components");
        _components = components;
        var sb = new StringBuilder();
        foreach (var c in components)
        {
            sb.Append('/').Append(Name(c.Protocol));
            if (FixedSize(c.Protocol) != 0) sb.Append('/').Append(c.Value);
        }
        _text = sb.ToString();
    }

    /// <summary>The components in order.</summary>
    public IReadOnlyList<MultiaddrComponent> Components => _components;

    /// <summary>Parses the text form; throws <see cref="FormatException"/> when malformed.</summary>
    public static Multiaddr Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0 || text[0] != '/') throw new FormatException("multiaddr must start with '/'");
        if (text.Length > MaxLength) throw new FormatException("multiaddr too long");
        string[] parts = text.TrimEnd('/').Split('/');
        var list = new List<MultiaddrComponent>();
        for (int i = 1; i < parts.Length;)
        {
            var protocol = FromName(parts[i]);
            if (FixedSize(protocol) == 0)
            {
                list.Add(new MultiaddrComponent(protocol, ""));
                i++;
                continue;
            }
            if (i + 1 >= parts.Length) throw new FormatException($"multiaddr protocol '{parts[i]}' lacks its value");
            list.Add(new MultiaddrComponent(protocol, Normalize(protocol, parts[i + 1])));
            i += 2;
        }
        if (list.Count == 0) throw new FormatException("empty multiaddr");
        return new Multiaddr([.. list]);
    }

    /// <summary>Parses the text form without throwing.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Multiaddr? multiaddr)
    {
        multiaddr = null;
        if (text is null) return false;
        try { multiaddr = Parse(text); return true; }
        catch (FormatException) { return false; }
    }

    /// <summary>Reads the binary form; throws <see cref="FormatException"/> when malformed.</summary>
    public static Multiaddr FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0 || bytes.Length > MaxLength) throw new FormatException("multiaddr bytes have a bad length");
        var list = new List<MultiaddrComponent>();
        while (bytes.Length > 0)
        {
            if (list.Count >= MaxComponents) throw new FormatException("multiaddr has too many components");
            if (!Varint.TryRead(bytes, out ulong code, out int n)) throw new FormatException("truncated multiaddr code");
            bytes = bytes[n..];
            if (!Enum.IsDefined(typeof(MultiaddrProtocol), (int)Math.Min(code, int.MaxValue)))
                throw new FormatException($"unsupported multiaddr protocol code {code}");
            var protocol = (MultiaddrProtocol)(int)code;
            int size = FixedSize(protocol);
            if (size < 0)
            {
                if (!Varint.TryRead(bytes, out ulong len, out n)) throw new FormatException("truncated multiaddr length");
                if (len > (ulong)(bytes.Length - n)) throw new FormatException("multiaddr value overruns the input");
                bytes = bytes[n..];
                size = (int)len;
            }
            else if (bytes.Length < size)
            {
                throw new FormatException("multiaddr value overruns the input");
            }
            list.Add(new MultiaddrComponent(protocol, ValueToText(protocol, bytes[..size])));
            bytes = bytes[size..];
        }
        return new Multiaddr([.. list]);
    }

    /// <summary>The binary form.</summary>
    public byte[] ToBytes()
    {
        using var ms = new MemoryStream();
        Span<byte> v = stackalloc byte[Varint.MaxLength];
        foreach (var c in _components)
        {
            ms.Write(v[..Varint.Write(v, (ulong)c.Protocol)]);
            byte[] value = ValueToBytes(c.Protocol, c.Value);
            if (FixedSize(c.Protocol) < 0) ms.Write(v[..Varint.Write(v, (ulong)value.Length)]);
            ms.Write(value);
        }
        return ms.ToArray();
    }

    /// <summary>Builds <c>/ip4|ip6/ADDR/tcp/PORT</c> from an endpoint.</summary>
    public static Multiaddr FromEndPoint(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var address = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        var ip = address.AddressFamily == AddressFamily.InterNetwork
            ? new MultiaddrComponent(MultiaddrProtocol.Ip4, address.ToString())
            : new MultiaddrComponent(MultiaddrProtocol.Ip6, new IPAddress(address.GetAddressBytes()).ToString());
        return new Multiaddr([ip, new MultiaddrComponent(MultiaddrProtocol.Tcp, endPoint.Port.ToString(CultureInfo.InvariantCulture))]);
    }

    /// <summary>This address followed by <paramref name="component"/>.</summary>
    public Multiaddr Encapsulate(MultiaddrComponent component) => new([.. _components, new MultiaddrComponent(component.Protocol, Normalize(component.Protocol, component.Value))]);

    /// <summary>This address with <c>/p2p/ID</c> appended (or replaced).</summary>
    public Multiaddr WithPeerId(PeerId peerId)
    {
        ArgumentNullException.ThrowIfNull(peerId);
        return WithoutPeerId().Encapsulate(new MultiaddrComponent(MultiaddrProtocol.P2p, peerId.ToString()));
    }

    /// <summary>This address without a trailing <c>/p2p/ID</c>.</summary>
    public Multiaddr WithoutPeerId() =>
        _components.Length > 0 && _components[^1].Protocol == MultiaddrProtocol.P2p ? new Multiaddr(_components[..^1]) : this;

    /// <summary>
    /// The PeerId of the <c>/p2p/</c> component, if any. In a relayed address
    /// (<c>…/p2p/RELAY/p2p-circuit/p2p/TARGET</c>) it is the target after the last <c>/p2p-circuit</c>, or null
    /// when there is none.
    /// </summary>
    public PeerId? PeerId
    {
        get
        {
            int start = 0;
            for (int i = 0; i < _components.Length; i++)
                if (_components[i].Protocol == MultiaddrProtocol.P2pCircuit) start = i + 1;
            for (int i = start; i < _components.Length; i++)
                if (_components[i].Protocol == MultiaddrProtocol.P2p) return Core.PeerId.Parse(_components[i].Value);
            return null;
        }
    }

    /// <summary>True for a relayed address: one with a <c>/p2p-circuit</c> component.</summary>
    public bool IsCircuit => _components.Any(c => c.Protocol == MultiaddrProtocol.P2pCircuit);

    /// <summary>
    /// For a relayed address <c>RELAYADDR/p2p/RELAY/p2p-circuit[/p2p/TARGET]</c>: the relay's address (with its
    /// <c>/p2p/</c>, possibly without transport part) and the target (null when absent); null when this is not a
    /// relayed address or it names no relay.
    /// </summary>
    public (Multiaddr Relay, PeerId? Target)? SplitCircuit()
    {
        int circuit = Array.FindLastIndex(_components, c => c.Protocol == MultiaddrProtocol.P2pCircuit);
        if (circuit <= 0 || _components[circuit - 1].Protocol != MultiaddrProtocol.P2p) return null;
        return (new Multiaddr(_components[..circuit]), new Multiaddr(_components[circuit..]).PeerId);
    }

    /// <summary>The value of the first component of <paramref name="protocol"/>, or null.</summary>
    public string? ValueOf(MultiaddrProtocol protocol)
    {
        foreach (var c in _components)
            if (c.Protocol == protocol) return c.Value;
        return null;
    }

    /// <summary>
    /// The TCP target of this address: host (IP text or DNS name), port and required address family
    /// (Unspecified for <c>/dns</c>); null when it is not a TCP address.
    /// </summary>
    public (string Host, int Port, AddressFamily Family)? TcpTarget
    {
        get
        {
            if (_components.Length < 2 || _components[1].Protocol != MultiaddrProtocol.Tcp || IsCircuit) return null;
            var first = _components[0];
            int port = int.Parse(_components[1].Value, CultureInfo.InvariantCulture);
            return first.Protocol switch
            {
                MultiaddrProtocol.Ip4 or MultiaddrProtocol.Dns4 => (first.Value, port, AddressFamily.InterNetwork),
                MultiaddrProtocol.Ip6 or MultiaddrProtocol.Dns6 => (first.Value, port, AddressFamily.InterNetworkV6),
                MultiaddrProtocol.Dns => (first.Value, port, AddressFamily.Unspecified),
                _ => null,
            };
        }
    }

    /// <summary>The IP endpoint for <c>/ip4|ip6/…/tcp/…</c> addresses, or null.</summary>
    public IPEndPoint? ToIPEndPoint()
    {
        var target = TcpTarget;
        if (target is null || !IPAddress.TryParse(target.Value.Host, out var ip)) return null;
        return new IPEndPoint(ip, target.Value.Port);
    }

    private static int FixedSize(MultiaddrProtocol p) => p switch
    {
        MultiaddrProtocol.Ip4 => 4,
        MultiaddrProtocol.Ip6 => 16,
        MultiaddrProtocol.Tcp or MultiaddrProtocol.Udp => 2,
        MultiaddrProtocol.Memory => 8,
        MultiaddrProtocol.P2pCircuit => 0,
        _ => -1,
    };

    private static string Name(MultiaddrProtocol p) => p switch
    {
        MultiaddrProtocol.Ip4 => "ip4",
        MultiaddrProtocol.Ip6 => "ip6",
        MultiaddrProtocol.Tcp => "tcp",
        MultiaddrProtocol.Udp => "udp",
        MultiaddrProtocol.Dns => "dns",
        MultiaddrProtocol.Dns4 => "dns4",
        MultiaddrProtocol.Dns6 => "dns6",
        MultiaddrProtocol.DnsAddr => "dnsaddr",
        MultiaddrProtocol.P2p => "p2p",
        MultiaddrProtocol.Memory => "memory",
        MultiaddrProtocol.P2pCircuit => "p2p-circuit",
        _ => throw new FormatException($"unknown multiaddr protocol {p}"),
    };

    private static MultiaddrProtocol FromName(string name) => name switch
    {
        "ip4" => MultiaddrProtocol.Ip4,
        "ip6" => MultiaddrProtocol.Ip6,
        "tcp" => MultiaddrProtocol.Tcp,
        "udp" => MultiaddrProtocol.Udp,
        "dns" => MultiaddrProtocol.Dns,
        "dns4" => MultiaddrProtocol.Dns4,
        "dns6" => MultiaddrProtocol.Dns6,
        "dnsaddr" => MultiaddrProtocol.DnsAddr,
        "p2p" or "ipfs" => MultiaddrProtocol.P2p,
        "memory" => MultiaddrProtocol.Memory,
        "p2p-circuit" => MultiaddrProtocol.P2pCircuit,
        _ => throw new FormatException($"unsupported multiaddr protocol '{name}'"),
    };

    // Validates a text value and returns its canonical text (so that text and binary round-trip).
    private static string Normalize(MultiaddrProtocol p, string value) => ValueToText(p, ValueToBytes(p, value));

    private static byte[] ValueToBytes(MultiaddrProtocol p, string value)
    {
        switch (p)
        {
            case MultiaddrProtocol.Ip4:
                if (!IPAddress.TryParse(value, out var v4) || v4.AddressFamily != AddressFamily.InterNetwork || value.Count(c => c == '.') != 3)
                    throw new FormatException($"invalid ip4 address '{value}'");
                return v4.GetAddressBytes();
            case MultiaddrProtocol.Ip6:
                if (!IPAddress.TryParse(value, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6 || v6.ScopeId != 0)
                    throw new FormatException($"invalid ip6 address '{value}'");
                return v6.GetAddressBytes();
            case MultiaddrProtocol.Tcp:
            case MultiaddrProtocol.Udp:
                if (!ushort.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ushort port))
                    throw new FormatException($"invalid port '{value}'");
                byte[] b = new byte[2];
                BinaryPrimitives.WriteUInt16BigEndian(b, port);
                return b;
            case MultiaddrProtocol.P2p:
                return Core.PeerId.Parse(value).Bytes.ToArray();
            case MultiaddrProtocol.P2pCircuit:
                if (value.Length != 0) throw new FormatException("p2p-circuit takes no value");
                return [];
            case MultiaddrProtocol.Memory:
                if (!ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong id))
                    throw new FormatException($"invalid memory id '{value}'");
                byte[] m = new byte[8];
                BinaryPrimitives.WriteUInt64BigEndian(m, id);
                return m;
            default:
                if (value.Length == 0 || value.Length > MaxDnsNameLength || value.Any(c => c <= ' ' || c == '/' || c > '~'))
                    throw new FormatException($"invalid DNS name '{value}'");
                return Encoding.ASCII.GetBytes(value);
        }
    }

    private static string ValueToText(MultiaddrProtocol p, ReadOnlySpan<byte> value) => p switch
    {
        MultiaddrProtocol.Ip4 or MultiaddrProtocol.Ip6 => new IPAddress(value).ToString(),
        MultiaddrProtocol.Tcp or MultiaddrProtocol.Udp => BinaryPrimitives.ReadUInt16BigEndian(value).ToString(CultureInfo.InvariantCulture),
        MultiaddrProtocol.P2p => Core.PeerId.FromBytes(value).ToString(),
        MultiaddrProtocol.Memory => BinaryPrimitives.ReadUInt64BigEndian(value).ToString(CultureInfo.InvariantCulture),
        MultiaddrProtocol.P2pCircuit => "",
        _ => DnsText(value),
    };

    private static string DnsText(ReadOnlySpan<byte> value)
    {
        string text = Encoding.ASCII.GetString(value);
        if (text.Length == 0 || text.Length > MaxDnsNameLength || text.Any(c => c <= ' ' || c == '/' || c > '~'))
            throw new FormatException("invalid DNS name in multiaddr");
        return text;
    }

    /// <inheritdoc />
    public bool Equals(Multiaddr? other) => other is not null && _text == other._text;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Multiaddr);

    /// <inheritdoc />
    public override int GetHashCode() => _text.GetHashCode(StringComparison.Ordinal);

    /// <summary>The text form.</summary>
    public override string ToString() => _text;
}
