using System.Text;
using P2PNet.Core;
using P2PNet.Wire;

namespace P2PNet.Discovery.LanBroadcast;

/// <summary>
/// One LAN announcement datagram: magic <c>P2PNLAN1</c>, then length-prefixed (varint) network name (UTF-8),
/// PeerId bytes, an address count and each binary multiaddr. Every field is bounded and checked before
/// anything is allocated.
/// </summary>
internal sealed record LanAnnouncement(string NetworkName, PeerId PeerId, IReadOnlyList<Multiaddr> Addresses)
{
    /// <summary>Largest datagram written or accepted (fits an Ethernet MTU).</summary>
    public const int MaxDatagramLength = 1400;

    /// <summary>Longest network name in UTF-8 bytes.</summary>
    public const int MaxNetworkNameLength = 64;

    /// <summary>Longest PeerId in bytes.</summary>
    public const int MaxPeerIdLength = 64;

    /// <summary>Most addresses in one announcement.</summary>
    public const int MaxAddresses = 16;

    /// <summary>Longest binary multiaddr.</summary>
    public const int MaxAddressLength = 256;

    private static ReadOnlySpan<byte> Magic => "P2PNLAN1"u8;

    /// <summary>Encodes the announcement; addresses that do not fit are left out.</summary>
    public byte[] Encode()
    {
        var name = Encoding.UTF8.GetBytes(NetworkName);
        if (name.Length > MaxNetworkNameLength) throw new ArgumentException($"network name longer than {MaxNetworkNameLength} bytes");
        var buffer = new byte[MaxDatagramLength];
        Magic.CopyTo(buffer);
        int n = Magic.Length;
        n += Field(buffer.AsSpan(n), name);
        n += Field(buffer.AsSpan(n), PeerId.Bytes);
        var addresses = Addresses.Take(MaxAddresses).Select(a => a.ToBytes()).Where(b => b.Length <= MaxAddressLength).ToList();
        int countAt = n++;
        int count = 0;
        foreach (var address in addresses)
        {
            if (n + Varint.SizeOf((ulong)address.Length) + address.Length > buffer.Length) break;
            n += Field(buffer.AsSpan(n), address);
            count++;
        }
        buffer[countAt] = (byte)count;
        return buffer[..n];
    }

    /// <summary>Decodes a datagram.</summary>
    /// <exception cref="DiscoveryException">Malformed or over a limit (<see cref="DiscoveryError.Malformed"/>).</exception>
    public static LanAnnouncement Decode(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length > MaxDatagramLength) throw Malformed("datagram too long");
        if (!datagram.StartsWith(Magic)) throw Malformed("not a P2PNet announcement");
        var rest = datagram[Magic.Length..];
        var name = ReadField(ref rest, MaxNetworkNameLength, "network name");
        var id = ReadField(ref rest, MaxPeerIdLength, "PeerId");
        if (rest.IsEmpty) throw Malformed("truncated before the address count");
        int count = rest[0];
        rest = rest[1..];
        if (count > MaxAddresses) throw Malformed($"{count} addresses, at most {MaxAddresses}");
        var addresses = new List<Multiaddr>(count);
        for (int i = 0; i < count; i++)
        {
            var bytes = ReadField(ref rest, MaxAddressLength, "address");
            try
            {
                addresses.Add(Multiaddr.FromBytes(bytes));
            }
            catch (FormatException ex)
            {
                throw Malformed("bad multiaddr: " + ex.Message);
            }
        }
        if (!rest.IsEmpty) throw Malformed("trailing bytes");
        string networkName;
        PeerId peerId;
        try
        {
            networkName = new UTF8Encoding(false, true).GetString(name);
            peerId = PeerId.FromBytes(id);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            throw Malformed(ex.Message);
        }
        return new LanAnnouncement(networkName, peerId, addresses);
    }

    private static int Field(Span<byte> destination, ReadOnlySpan<byte> value)
    {
        int n = Varint.Write(destination, (ulong)value.Length);
        value.CopyTo(destination[n..]);
        return n + value.Length;
    }

    private static ReadOnlySpan<byte> ReadField(ref ReadOnlySpan<byte> source, int max, string what)
    {
        ulong length;
        int consumed;
        try
        {
            if (!Varint.TryRead(source, out length, out consumed)) throw Malformed($"truncated {what} length");
        }
        catch (FormatException ex)
        {
            throw Malformed($"{what} length: {ex.Message}");
        }
        if (length > (ulong)max) throw Malformed($"{what} of {length} bytes, at most {max}");
        source = source[consumed..];
        if ((ulong)source.Length < length) throw Malformed($"truncated {what}");
        var value = source[..(int)length];
        source = source[(int)length..];
        return value;
    }

    private static DiscoveryException Malformed(string reason) => new(DiscoveryError.Malformed, "malformed LAN announcement: " + reason);
}
