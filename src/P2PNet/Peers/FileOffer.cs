using System.Diagnostics.CodeAnalysis;
using P2PNet.Core;
using P2PNet.Peers.Packets;
using P2PNet.Protocols.Transfer;
using P2PNet.Wire;

namespace P2PNet.Peers;

/// <summary>
/// A file a peer offers on a channel: content id, name and size. It travels as a <see cref="DataTransmissionPacket"/>
/// (DataType File, ContentType <see cref="ContentType"/>, Data = binary CID then varint size), so it needs the
/// Enhanced trust the seed gives that packet type; fetching it needs the offering peer to trust us the same way.
/// </summary>
public sealed record FileOffer(PeerId From, ContentId Id, string Name, long Size)
{
    /// <summary>ContentType that marks an offer among DataTransmissionPackets.</summary>
    public const string ContentType = "application/vnd.p2pnet.file-offer";

    internal DataTransmissionPacket ToPacket()
    {
        byte[] cid = Id.ToBytes();
        var data = new byte[cid.Length + 10];
        cid.CopyTo(data, 0);
        int n = Varint.Write(data.AsSpan(cid.Length), (ulong)Size);
        return new DataTransmissionPacket(data[..(cid.Length + n)], DataPayloadFormat.File, Name, ContentType);
    }

    internal static bool TryFromPacket(PeerId from, DataTransmissionPacket packet, [NotNullWhen(true)] out FileOffer? offer)
    {
        offer = null;
        if (packet.ContentType != ContentType || packet.Data.Length < ContentId.EncodedSize || !FileNames.IsSafe(packet.Name)) return false;
        if (!ContentId.TryFromBytes(packet.Data.AsSpan(0, ContentId.EncodedSize), out var id)) return false;
        var rest = packet.Data.AsSpan(ContentId.EncodedSize);
        if (!Varint.TryRead(rest, out ulong size, out int n) || n != rest.Length || size > long.MaxValue) return false;
        offer = new FileOffer(from, id, packet.Name!, (long)size);
        return true;
    }
}
