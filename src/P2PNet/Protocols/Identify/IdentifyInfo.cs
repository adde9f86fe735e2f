using Google.Protobuf;
using P2PNet.Core;

namespace P2PNet.Protocols.Identify;

/// <summary>
/// The contents of an Identify message (<c>message Identify { optional bytes publicKey = 1; repeated bytes
/// listenAddrs = 2; repeated string protocols = 3; optional bytes observedAddr = 4; optional string
/// protocolVersion = 5; optional string agentVersion = 6; optional bytes signedPeerRecord = 8; }</c>),
/// with its hand-written protobuf codec. Decoding skips unknown fields and addresses that do not parse.
/// </summary>
public sealed record IdentifyInfo
{
    private const int PublicKeyField = 1;
    private const int ListenAddrsField = 2;
    private const int ProtocolsField = 3;
    private const int ObservedAddrField = 4;
    private const int ProtocolVersionField = 5;
    private const int AgentVersionField = 6;
    private const int SignedPeerRecordField = 8;

    /// <summary>The protocol family, e.g. <c>ipfs/0.1.0</c> (<see cref="IdentifyProtocol.DefaultProtocolVersion"/>).</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>The implementation, e.g. <c>p2pnet/0.1</c> (<see cref="IdentifyProtocol.DefaultAgentVersion"/>).</summary>
    public string? AgentVersion { get; init; }

    /// <summary>The peer's public key; check it with <see cref="Validate"/>.</summary>
    public PublicKey? PublicKey { get; init; }

    /// <summary>The addresses the peer listens on.</summary>
    public IReadOnlyList<Multiaddr> ListenAddrs { get; init; } = [];

    /// <summary>The address the peer sees the connection coming from (our address, from its side).</summary>
    public Multiaddr? ObservedAddr { get; init; }

    /// <summary>The protocols the peer supports.</summary>
    public IReadOnlyList<string> Protocols { get; init; } = [];

    /// <summary>The raw signed peer record envelope, passed through unverified; null when absent.</summary>
    public byte[]? SignedPeerRecord { get; init; }

    /// <summary>
    /// Throws <see cref="IdentifyException"/> (MissingPublicKey or PeerIdMismatch) unless
    /// <see cref="PublicKey"/> is the key of <paramref name="expected"/>, the authenticated remote peer.
    /// </summary>
    public void Validate(PeerId expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        if (PublicKey is null) throw new IdentifyException(IdentifyError.MissingPublicKey, "identify message carries no public key");
        if (!expected.Matches(PublicKey))
            throw new IdentifyException(IdentifyError.PeerIdMismatch, $"identify public key belongs to {PublicKey.ToPeerId()}, not {expected}");
    }

    /// <summary>The protobuf encoding, fields in field-number order.</summary>
    public byte[] ToProtobuf()
    {
        byte[]? key = PublicKey?.ToProtobuf();
        byte[][] addrs = [.. ListenAddrs.Select(a => a.ToBytes())];
        byte[]? observed = ObservedAddr?.ToBytes();

        int size = 0;
        if (key is not null) size += 1 + CodedOutputStream.ComputeLengthSize(key.Length) + key.Length;
        foreach (byte[] a in addrs) size += 1 + CodedOutputStream.ComputeLengthSize(a.Length) + a.Length;
        foreach (string p in Protocols) size += 1 + CodedOutputStream.ComputeStringSize(p);
        if (observed is not null) size += 1 + CodedOutputStream.ComputeLengthSize(observed.Length) + observed.Length;
        if (ProtocolVersion is not null) size += 1 + CodedOutputStream.ComputeStringSize(ProtocolVersion);
        if (AgentVersion is not null) size += 1 + CodedOutputStream.ComputeStringSize(AgentVersion);
        if (SignedPeerRecord is not null) size += 1 + CodedOutputStream.ComputeLengthSize(SignedPeerRecord.Length) + SignedPeerRecord.Length;

        byte[] buffer = new byte[size];
        var output = new CodedOutputStream(buffer);
        if (key is not null) WriteBytes(output, PublicKeyField, key);
        foreach (byte[] a in addrs) WriteBytes(output, ListenAddrsField, a);
        foreach (string p in Protocols) WriteString(output, ProtocolsField, p);
        if (observed is not null) WriteBytes(output, ObservedAddrField, observed);
        if (ProtocolVersion is not null) WriteString(output, ProtocolVersionField, ProtocolVersion);
        if (AgentVersion is not null) WriteString(output, AgentVersionField, AgentVersion);
        if (SignedPeerRecord is not null) WriteBytes(output, SignedPeerRecordField, SignedPeerRecord);
        output.Flush();
        return buffer;
    }

    /// <summary>
    /// Decodes one message of at most <see cref="IdentifyProtocol.MaxMessageLength"/> bytes. Throws
    /// <see cref="IdentifyException"/> (MessageTooLong, Malformed, InvalidPublicKey).
    /// </summary>
    public static IdentifyInfo FromProtobuf(ReadOnlySpan<byte> encoded) => new IdentifyInfo().MergeFrom(encoded);

    /// <summary>
    /// Protobuf merge semantics, for peers (go-libp2p) that split a large Identify into several messages:
    /// fields present in <paramref name="encoded"/> replace singular values and extend repeated ones.
    /// </summary>
    internal IdentifyInfo MergeFrom(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > IdentifyProtocol.MaxMessageLength)
            throw new IdentifyException(IdentifyError.MessageTooLong, $"identify message of {encoded.Length} bytes exceeds {IdentifyProtocol.MaxMessageLength}");

        string? protocolVersion = ProtocolVersion, agentVersion = AgentVersion;
        PublicKey? publicKey = PublicKey;
        Multiaddr? observed = ObservedAddr;
        byte[]? signedPeerRecord = SignedPeerRecord;
        var addrs = new List<Multiaddr>(ListenAddrs);
        var protocols = new List<string>(Protocols);
        try
        {
            var input = new CodedInputStream(encoded.ToArray());
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                // A known field number with an unexpected wire type is skipped like an unknown field.
                if (WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited)
                {
                    input.SkipLastField();
                    continue;
                }
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case PublicKeyField:
                        publicKey = ParsePublicKey(input.ReadBytes());
                        break;
                    case ListenAddrsField:
                        if (TryParseAddr(input.ReadBytes(), out var addr)) addrs.Add(addr);
                        break;
                    case ProtocolsField:
                        protocols.Add(input.ReadString());
                        break;
                    case ObservedAddrField:
                        observed = TryParseAddr(input.ReadBytes(), out var o) ? o : null;
                        break;
                    case ProtocolVersionField:
                        protocolVersion = input.ReadString();
                        break;
                    case AgentVersionField:
                        agentVersion = input.ReadString();
                        break;
                    case SignedPeerRecordField:
                        signedPeerRecord = input.ReadBytes().ToByteArray();
                        break;
                    default:
                        input.SkipLastField();
                        break;
                }
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new IdentifyException(IdentifyError.Malformed, "malformed identify protobuf", ex);
        }
        return new IdentifyInfo
        {
            ProtocolVersion = protocolVersion,
            AgentVersion = agentVersion,
            PublicKey = publicKey,
            ListenAddrs = addrs,
            ObservedAddr = observed,
            Protocols = protocols,
            SignedPeerRecord = signedPeerRecord,
        };
    }

    private static PublicKey ParsePublicKey(ByteString bytes)
    {
        try
        {
            return PublicKey.FromProtobuf(bytes.Span);
        }
        catch (FormatException ex)
        {
            throw new IdentifyException(IdentifyError.InvalidPublicKey, "identify public key does not parse", ex);
        }
    }

    // Peers advertise transports we may not know (quic, webrtc...): such addresses are dropped, not fatal.
    private static bool TryParseAddr(ByteString bytes, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Multiaddr? addr)
    {
        try
        {
            addr = Multiaddr.FromBytes(bytes.Span);
            return true;
        }
        catch (FormatException)
        {
            addr = null;
            return false;
        }
    }

    private static void WriteBytes(CodedOutputStream output, int field, byte[] value)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(UnsafeByteOperations.UnsafeWrap(value));
    }

    private static void WriteString(CodedOutputStream output, int field, string value)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteString(value);
    }
}
