namespace P2PNet.Discovery.Mdns;

/// <summary>A DNS message: header plus question, answer, authority and additional sections.</summary>
internal sealed class DnsMessage
{
    /// <summary>QR flag: the message is a response.</summary>
    public const ushort FlagResponse = 0x8000;

    /// <summary>AA flag: the answer is authoritative (always set in mDNS responses).</summary>
    public const ushort FlagAuthoritative = 0x0400;

    /// <summary>The message id (0 in multicast mDNS).</summary>
    public ushort Id { get; set; }

    /// <summary>The raw 16-bit flags word (QR, opcode, AA, TC, RD, RA, Z, RCODE).</summary>
    public ushort Flags { get; set; }

    /// <summary>The QR bit of <see cref="Flags"/>.</summary>
    public bool IsResponse
    {
        get => (Flags & FlagResponse) != 0;
        set => Flags = value ? (ushort)(Flags | FlagResponse) : (ushort)(Flags & ~FlagResponse);
    }

    /// <summary>The AA bit of <see cref="Flags"/>.</summary>
    public bool IsAuthoritative
    {
        get => (Flags & FlagAuthoritative) != 0;
        set => Flags = value ? (ushort)(Flags | FlagAuthoritative) : (ushort)(Flags & ~FlagAuthoritative);
    }

    /// <summary>The question section.</summary>
    public List<DnsQuestion> Questions { get; } = [];

    /// <summary>The answer section.</summary>
    public List<DnsRecord> Answers { get; } = [];

    /// <summary>The authority section.</summary>
    public List<DnsRecord> Authorities { get; } = [];

    /// <summary>The additional section.</summary>
    public List<DnsRecord> Additionals { get; } = [];
}
