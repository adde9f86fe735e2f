namespace P2PNet.Discovery.Mdns;

/// <summary>One entry of the question section.</summary>
internal sealed class DnsQuestion
{
    /// <summary>The IN class.</summary>
    public const ushort ClassIn = 1;

    /// <summary>Creates a question.</summary>
    public DnsQuestion(string name, DnsRecordType type, ushort @class = ClassIn, bool unicastResponse = false)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        Type = type;
        Class = (ushort)(@class & 0x7FFF);
        UnicastResponse = unicastResponse;
    }

    /// <summary>The queried name, dotted, without a trailing dot.</summary>
    public string Name { get; }

    /// <summary>The queried type.</summary>
    public DnsRecordType Type { get; }

    /// <summary>The class (15 bits; the top bit is <see cref="UnicastResponse"/>).</summary>
    public ushort Class { get; }

    /// <summary>mDNS "QU" bit (RFC 6762 §5.4): the querier asks for a unicast response.</summary>
    public bool UnicastResponse { get; }
}
