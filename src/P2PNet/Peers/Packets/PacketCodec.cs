using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using P2PNet.Wire;

namespace P2PNet.Peers.Packets;

/// <summary>
/// The P2PNet channel frame codec. A frame is <c>uvarint(bodyLength) | body</c> with
/// <c>body = type:u8 | uvarint(jsonLength) | json (UTF-8) | binary tail</c>. Only
/// <see cref="DataTransmissionPacket"/> (its <see cref="DataTransmissionPacket.Data"/>, raw, so payloads are never base64
/// on the wire) and <see cref="PureMessagePacket"/> (its text as UTF-8, never JSON-escaped) have a tail; type <see cref="HelloFrameType"/> carries a <see cref="ChannelHello"/>.
/// Every limit is checked before allocating (lengths) or right after parsing (counts); violations throw
/// <see cref="PacketFormatException"/>, on both the read and the write side. See docs/protocol.md.
/// </summary>
internal static class PacketCodec
{
    /// <summary>The channel's stream protocol id, negotiated with multistream-select on a yamux stream.</summary>
    public const string ChannelProtocolId = "/p2pnet/channel/1.0.0";

    /// <summary>Frame type byte of the channel's <see cref="ChannelHello"/> (not a <see cref="PacketType"/>).</summary>
    public const byte HelloFrameType = 0;

    /// <summary>
    /// Frame type byte of an acknowledgement (not a <see cref="PacketType"/>): no JSON (length 0), the tail is the
    /// uvarint of the last packet sequence number received. Only sent to a peer whose hello carried a session.
    /// </summary>
    public const byte AckFrameType = 6;

    /// <summary>Longest session id in a hello, in characters.</summary>
    public const int MaxSessionIdLength = 64;

    /// <summary>Default largest frame body, in bytes (16 MiB); callers may pass a smaller or larger limit.</summary>
    public const int MaxFrameLength = 16 * 1024 * 1024;

    /// <summary>Largest JSON part of a frame, in UTF-8 bytes (1 MiB).</summary>
    public const int MaxJsonLength = 1024 * 1024;

    /// <summary>Most peers in one <see cref="CollectionSharePacket"/>.</summary>
    public const int MaxPeersPerShare = 256;

    /// <summary>Most addresses per peer (identity, hello, peer record).</summary>
    public const int MaxAddressesPerPeer = 16;

    /// <summary>Longest identifier (PeerId text), in characters.</summary>
    public const int MaxIdentifierLength = 128;

    /// <summary>
    /// Longest <see cref="PureMessagePacket.Message"/>, in characters (512 Ki, so an ASCII message of this size
    /// still fits <see cref="MaxJsonLength"/>; both limits apply).
    /// </summary>
    public const int MaxMessageLength = 512 * 1024;

    /// <summary>Longest other text field (address, names, reason, content type), in characters.</summary>
    public const int MaxTextLength = 1024;

    /// <summary>
    /// Longest JSON form accepted by <see cref="FromJson(string)"/>, in characters: the JSON limit plus a
    /// base64 <see cref="DataTransmissionPacket.Data"/> of <see cref="MaxFrameLength"/> bytes.
    /// </summary>
    public const int MaxJsonFormLength = MaxJsonLength + (MaxFrameLength + 2) / 3 * 4;

    private const byte LastPacketType = (byte)PacketType.PureMessage;

    // The wire form of a DataTransmissionPacket: the same contract minus "data", which travels in the tail.
    private static readonly JsonTypeInfo<DataTransmissionPacket> WireDataTransmission = WithoutProperty<DataTransmissionPacket>("data");
    private static readonly JsonTypeInfo<PureMessagePacket> WirePureMessage = WithoutProperty<PureMessagePacket>("message");

    // The message tail must be well-formed UTF-8: a peer cannot slip replacement characters past us.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Writes one complete frame for <paramref name="packet"/> and returns the bytes written. Allocates only
    /// the JSON bytes; use a <see cref="PacketWriter"/> on hot paths to avoid even that.
    /// Throws <see cref="PacketFormatException"/> when the packet breaks a limit.
    /// </summary>
    public static int Write(IBufferWriter<byte> output, NetworkPacket packet, int maxFrameLength = MaxFrameLength)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(packet);
        Validate(packet);
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(packet, WireTypeInfo(packet.Type));
        ReadOnlySpan<byte> tail = Tail(packet, out byte[]? rented);
        try
        {
            return WriteFrame(output, (byte)packet.Type, json, tail, maxFrameLength);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Writes the channel hello frame (type <see cref="HelloFrameType"/>) and returns the bytes written.
    /// Throws <see cref="PacketFormatException"/> when the hello breaks a limit.
    /// </summary>
    public static int WriteHello(IBufferWriter<byte> output, ChannelHello hello)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(hello);
        Validate(hello);
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(hello, PacketJsonContext.Default.ChannelHello);
        return WriteFrame(output, HelloFrameType, json, default, MaxFrameLength);
    }

    /// <summary>
    /// Reads one packet frame from the start of <paramref name="buffer"/> (System.IO.Pipelines style). Returns false,
    /// leaving <paramref name="buffer"/> untouched, when the frame is incomplete; on success advances
    /// <paramref name="buffer"/> past it. Throws <see cref="PacketFormatException"/> for a bad frame, including
    /// <see cref="PacketFormatError.UnexpectedHello"/> for a hello frame (use <see cref="TryReadFrame"/> where one may come).
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out NetworkPacket? packet, int maxFrameLength = MaxFrameLength)
    {
        ReadOnlySequence<byte> rest = buffer;
        if (!TryReadFrame(ref rest, out ChannelHello? hello, out packet, maxFrameLength)) return false;
        if (hello is not null) throw new PacketFormatException(PacketFormatError.UnexpectedHello, "hello frame where a packet was expected");
        buffer = rest;
        return true;
    }

    /// <summary>
    /// Reads one frame of any type from the start of <paramref name="buffer"/>. Returns false when incomplete; on success
    /// advances <paramref name="buffer"/> and sets exactly one of <paramref name="hello"/> (type
    /// <see cref="HelloFrameType"/>) or <paramref name="packet"/>. Throws <see cref="PacketFormatException"/> for a bad frame.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out ChannelHello? hello, out NetworkPacket? packet, int maxFrameLength = MaxFrameLength)
    {
        // Callers that know nothing of acknowledgements see that frame type as earlier versions did: unknown.
        return TryReadFrameCore(ref buffer, out hello, out packet, out _, maxFrameLength, acceptAck: false);
    }

    /// <summary>
    /// As <see cref="TryReadFrame"/>, and also reads an acknowledgement frame (type <see cref="AckFrameType"/>): then
    /// <paramref name="ack"/> is the sequence number it acknowledges and both <paramref name="hello"/> and
    /// <paramref name="packet"/> are null; otherwise <paramref name="ack"/> is -1.
    /// </summary>
    public static bool TryReadChannelFrame(ref ReadOnlySequence<byte> buffer, out ChannelHello? hello, out NetworkPacket? packet, out long ack, int maxFrameLength = MaxFrameLength) =>
        TryReadFrameCore(ref buffer, out hello, out packet, out ack, maxFrameLength, acceptAck: true);

    private static bool TryReadFrameCore(ref ReadOnlySequence<byte> buffer, out ChannelHello? hello, out NetworkPacket? packet, out long ack, int maxFrameLength, bool acceptAck)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFrameLength);
        hello = null;
        packet = null;
        ack = -1;
        if (TryReadCommonFrame(buffer.FirstSpan, maxFrameLength, acceptAck, out packet, out ack, out int whole))
        {
            buffer = buffer.Slice(whole);
            return true;
        }
        if (!TryReadVarint(buffer, out ulong bodyLength, out int prefix)) return false;
        if (bodyLength > (ulong)maxFrameLength)
            throw new PacketFormatException(PacketFormatError.FrameTooLarge, $"frame of {bodyLength} bytes exceeds {maxFrameLength}");
        if (bodyLength < 2) throw new PacketFormatException(PacketFormatError.Malformed, "frame shorter than its header");
        if (buffer.Length - prefix < (long)bodyLength) return false;

        ReadOnlySequence<byte> body = buffer.Slice(prefix, (long)bodyLength);
        byte type = body.FirstSpan[0];
        if (type == AckFrameType && acceptAck)
        {
            ack = ReadAck(body.Slice(1));
            buffer = buffer.Slice(prefix + (long)bodyLength);
            return true;
        }
        if (type > LastPacketType) throw new PacketFormatException(PacketFormatError.UnknownType, $"unknown frame type {type}");
        ReadOnlySequence<byte> afterType = body.Slice(1);
        if (!TryReadVarint(afterType, out ulong jsonLength, out int jsonPrefix))
            throw new PacketFormatException(PacketFormatError.Malformed, "frame ends inside the JSON length");
        if (jsonLength > MaxJsonLength)
            throw new PacketFormatException(PacketFormatError.JsonTooLarge, $"JSON of {jsonLength} bytes exceeds {MaxJsonLength}");
        if ((ulong)(afterType.Length - jsonPrefix) < jsonLength)
            throw new PacketFormatException(PacketFormatError.Malformed, "JSON length exceeds the frame");
        ReadOnlySequence<byte> json = afterType.Slice(jsonPrefix, (long)jsonLength);
        ReadOnlySequence<byte> tail = afterType.Slice(jsonPrefix + (long)jsonLength);
        if (type is not ((byte)PacketType.DataTransmission or (byte)PacketType.PureMessage) && !tail.IsEmpty)
            throw new PacketFormatException(PacketFormatError.UnexpectedTail, $"frame type {type} has a {tail.Length}-byte binary tail");

        if (type == HelloFrameType)
        {
            var h = (ChannelHello)Deserialize(json, PacketJsonContext.Default.ChannelHello);
            Validate(h);
            hello = h;
        }
        else
        {
            if (type == (byte)PacketType.PureMessage)
            {
                // The wire JSON of a PureMessage has no properties: "{}" skips the parser (anything else is parsed for
                // well-formedness only, as unknown properties are ignored). The text stays UTF-8, checked here once.
                if (!IsEmptyObject(json)) Deserialize(json, WirePureMessage);
                packet = PureMessagePacket.FromWire(ReadMessage(tail));
            }
            else
            {
                var p = (NetworkPacket)Deserialize(json, WireTypeInfo((PacketType)type));
                if (p is DataTransmissionPacket data) data.Data = CopyOut(tail);
                Validate(p);
                packet = p;
            }
        }
        buffer = buffer.Slice(prefix + (long)bodyLength);
        return true;
    }

    /// <summary>
    /// The commonest frames, read straight from one span when they lie whole in it: a PureMessage of fewer than 16 Ki
    /// bytes with its "{}" JSON, and an acknowledgement. Per 64 B packet, slicing the sequence cost more than the rest
    /// of the parse. Anything else, or anything unusual (a bad varint or frame, a split frame), returns false, leaving
    /// it to the general path, which then reads it or throws exactly as before; only the message's UTF-8 check throws here,
    /// as the general path would for the same frame.
    /// </summary>
    private static bool TryReadCommonFrame(ReadOnlySpan<byte> span, int maxFrameLength, bool acceptAck, out NetworkPacket? packet, out long ack, out int consumed)
    {
        packet = null;
        ack = -1;
        consumed = 0;
        if (span.Length < 4) return false;
        int bodyLength, prefix;
        if (span[0] < 0x80) (bodyLength, prefix) = (span[0], 1);
        else if (span[1] is > 0 and < 0x80) (bodyLength, prefix) = ((span[0] & 0x7F) | (span[1] << 7), 2); // minimal: no 0 last byte
        else return false;
        if (bodyLength < 3 || bodyLength > maxFrameLength || span.Length - prefix < bodyLength) return false;
        ReadOnlySpan<byte> body = span.Slice(prefix, bodyLength);
        if (body[0] == (byte)PacketType.PureMessage)
        {
            if (bodyLength < 4 || body[1] != 2 || body[2] != (byte)'{' || body[3] != (byte)'}') return false;
            ReadOnlySpan<byte> tail = body[4..];
            byte[] bytes = tail.IsEmpty ? [] : tail.ToArray();
            CheckMessageBytes(bytes);
            packet = PureMessagePacket.FromWire(bytes);
        }
        else if (body[0] == AckFrameType && acceptAck)
        {
            // A zero JSON length, then one minimal uvarint filling the rest: at most 9 bytes, every one but the last with
            // its continuation bit, the last not 0 (unless alone), so Varint.TryRead neither throws nor stops early.
            ReadOnlySpan<byte> value = body[2..];
            if (body[1] != 0 || value.Length > 9 || value[^1] >= 0x80 || (value.Length > 1 && value[^1] == 0)) return false;
            for (int i = 0; i < value.Length - 1; i++)
                if (value[i] < 0x80) return false;
            if (!Varint.TryRead(value, out ulong sequence, out _) || sequence > long.MaxValue) return false;
            ack = (long)sequence;
        }
        else
        {
            return false;
        }
        consumed = prefix + bodyLength;
        return true;
    }

    // An ack body after its type byte: a zero JSON length, then exactly one minimal uvarint (at most 2^63 - 1).
    private static long ReadAck(ReadOnlySequence<byte> rest)
    {
        if (rest.FirstSpan[0] != 0) throw new PacketFormatException(PacketFormatError.Malformed, "an acknowledgement carries no JSON");
        rest = rest.Slice(1);
        if (!TryReadVarint(rest, out ulong value, out int length) || length != rest.Length)
            throw new PacketFormatException(PacketFormatError.Malformed, "an acknowledgement is one uvarint");
        if (value > long.MaxValue) throw new PacketFormatException(PacketFormatError.LimitExceeded, "acknowledged sequence number out of range");
        return (long)value;
    }

    /// <summary>Writes an acknowledgement frame for sequence number <paramref name="received"/>; returns the bytes written.</summary>
    public static int WriteAck(IBufferWriter<byte> output, long received)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(received);
        int varint = Varint.SizeOf((ulong)received);
        int body = 2 + varint;
        Span<byte> span = output.GetSpan(1 + body);
        span[0] = (byte)body; // at most 11: one byte of length
        span[1] = AckFrameType;
        span[2] = 0;
        Varint.Write(span[3..], (ulong)received);
        output.Advance(1 + body);
        return 1 + body;
    }

    /// <summary>
    /// The full JSON form of <paramref name="packet"/>, as handed to <c>Action&lt;string&gt;</c> handlers: self-describing
    /// through a <c>"type"</c> property (the <see cref="PacketType"/> name), with <see cref="DataTransmissionPacket.Data"/>
    /// as base64.
    /// </summary>
    public static string ToJson(NetworkPacket packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        return JsonSerializer.Serialize(packet, PacketJsonContext.Default.NetworkPacket);
    }

    /// <summary>
    /// Parses a JSON form made by <see cref="ToJson"/>, choosing the packet class from its <c>"type"</c> property.
    /// Throws <see cref="PacketFormatException"/> when it is malformed or breaks a limit.
    /// </summary>
    public static NetworkPacket FromJson(string json) => ParseJsonForm(json, PacketJsonContext.Default.NetworkPacket);

    /// <summary>
    /// Parses the JSON form of a packet of a known <paramref name="type"/> (a <c>"type"</c> property is then ignored).
    /// Throws <see cref="PacketFormatException"/> when it is malformed or breaks a limit.
    /// </summary>
    public static NetworkPacket FromJson(PacketType type, string json) => ParseJsonForm(json, FullTypeInfo(type));

    /// <summary>
    /// Parses the JSON form of a <typeparamref name="T"/> (with <see cref="NetworkPacket"/> itself, as <see cref="FromJson(string)"/>).
    /// Throws <see cref="PacketFormatException"/> when it is malformed or breaks a limit.
    /// </summary>
    public static T FromJson<T>(string json) where T : NetworkPacket
    {
        var info = (JsonTypeInfo<T>)PacketJsonContext.Default.GetTypeInfo(typeof(T))!;
        return (T)ParseJsonForm(json, info);
    }

    internal static JsonTypeInfo WireTypeInfo(PacketType type) => type switch
    {
        PacketType.DataTransmission => WireDataTransmission,
        PacketType.PureMessage => WirePureMessage,
        _ => FullTypeInfo(type),
    };

    /// <summary>
    /// The frame's binary tail: DataTransmission's data, or PureMessage's text as UTF-8 (in a pooled buffer the
    /// caller returns through <paramref name="rented"/>), so that neither goes through JSON escaping.
    /// </summary>
    internal static ReadOnlySpan<byte> Tail(NetworkPacket packet, out byte[]? rented)
    {
        rented = null;
        switch (packet)
        {
            case DataTransmissionPacket data:
                return data.Data;
            case PureMessagePacket message:
                // Bytes given or received go out as they are; a string is encoded into a pooled buffer (unless its
                // encoding was kept by a read of Utf8).
                if (message.IsFromUtf8) return message.Utf8.Span;
                if (message.EncodedText is { } encoded) return encoded;
                string text = message.Message;
                if (text.Length == 0) return default;
                // One pass: no byte count first (a UTF-16 code unit is at most 3 UTF-8 bytes), and the lone-surrogate
                // check is the transcoder's own (the writer loop skips Validate's separate scan).
                rented = ArrayPool<byte>.Shared.Rent(checked(text.Length * 3));
                var status = System.Text.Unicode.Utf8.FromUtf16(text, rented, out _, out int written, replaceInvalidSequences: false);
                if (status != OperationStatus.Done)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                    rented = null;
                    throw new PacketFormatException(PacketFormatError.Malformed, "message is not valid Unicode (a lone surrogate)");
                }
                return rented.AsSpan(0, written);
            default:
                return default;
        }
    }

    // The text travels as strict UTF-8, which a lone surrogate has no encoding in.
    private static void RejectLoneSurrogates(string text)
    {
        try
        {
            StrictUtf8.GetByteCount(text);
        }
        catch (EncoderFallbackException ex)
        {
            throw new PacketFormatException(PacketFormatError.Malformed, "message is not valid Unicode (a lone surrogate)", ex);
        }
    }

    /// <summary>The wire JSON of a PureMessage, which has no properties.</summary>
    internal static ReadOnlySpan<byte> EmptyObject => "{}"u8;

    private static bool IsEmptyObject(ReadOnlySequence<byte> json)
    {
        if (json.Length != 2) return false;
        if (json.FirstSpan.Length == 2) return json.FirstSpan.SequenceEqual(EmptyObject);
        Span<byte> two = stackalloc byte[2];
        json.CopyTo(two);
        return two.SequenceEqual(EmptyObject);
    }

    // A received message is kept as its UTF-8 bytes (one copy out of the read pipe, no string): checked here for
    // well-formed UTF-8 and the length limit in characters, exactly as a string would have been.
    private static byte[] ReadMessage(ReadOnlySequence<byte> tail)
    {
        if (tail.Length > MaxMessageLength * 3L)
            throw new PacketFormatException(PacketFormatError.LimitExceeded, $"message of {tail.Length} bytes exceeds {MaxMessageLength} characters");
        byte[] bytes = CopyOut(tail);
        CheckMessageBytes(bytes);
        return bytes;
    }

    // The payload's own array, without zeroing it first (it is overwritten at once): memset was 2% of a 64 KiB round trip.
    private static byte[] CopyOut(ReadOnlySequence<byte> tail)
    {
        if (tail.IsEmpty) return [];
        byte[] bytes = GC.AllocateUninitializedArray<byte>(checked((int)tail.Length));
        tail.CopyTo(bytes);
        return bytes;
    }

    // Well-formed UTF-8 (so a peer cannot slip replacement characters past us) of at most MaxMessageLength UTF-16 code units.
    private static void CheckMessageBytes(ReadOnlySpan<byte> utf8)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8))
            throw new PacketFormatException(PacketFormatError.Malformed, "message is not valid UTF-8");
        // A character is never fewer UTF-16 code units than UTF-8 bytes: only a long message needs counting.
        if (utf8.Length > MaxMessageLength && StrictUtf8.GetCharCount(utf8) is int chars && chars > MaxMessageLength)
            throw new PacketFormatException(PacketFormatError.LimitExceeded, $"message of {chars} characters exceeds {MaxMessageLength}");
    }

    /// <summary>Writes the frame header, <paramref name="json"/> and <paramref name="tail"/>; checks the sizes first.</summary>
    internal static int WriteFrame(IBufferWriter<byte> output, byte type, ReadOnlySpan<byte> json, ReadOnlySpan<byte> tail, int maxFrameLength)
    {
        if (json.Length > MaxJsonLength)
            throw new PacketFormatException(PacketFormatError.JsonTooLarge, $"JSON of {json.Length} bytes exceeds {MaxJsonLength}");
        long bodyLength = 1L + Varint.SizeOf((ulong)json.Length) + json.Length + tail.Length;
        if (bodyLength > maxFrameLength)
            throw new PacketFormatException(PacketFormatError.FrameTooLarge, $"frame of {bodyLength} bytes exceeds {maxFrameLength}");
        int prefix = Varint.SizeOf((ulong)bodyLength);
        int total = prefix + (int)bodyLength;

        // One span for the whole frame (IBufferWriter hands out at least the size asked for). Writing a large tail with
        // BuffersExtensions.Write instead asks without a size hint, and a growing writer (the channel's batch) then
        // doubles from 4 KiB, copying what it holds at each step.
        Span<byte> span = output.GetSpan(total);
        int n = Varint.Write(span, (ulong)bodyLength);
        span[n++] = type;
        n += Varint.Write(span[n..], (ulong)json.Length);
        json.CopyTo(span[n..]);
        tail.CopyTo(span[(n + json.Length)..]);
        output.Advance(total);
        return total;
    }

    /// <summary>
    /// As <see cref="Validate(NetworkPacket)"/>, for the writer loop: a PureMessage's text is not scanned for lone
    /// surrogates here, since <see cref="Tail"/> encodes it strictly and refuses them in the same pass.
    /// </summary>
    internal static void ValidateForWrite(NetworkPacket packet)
    {
        if (packet is PureMessagePacket { IsFromUtf8: false } message)
        {
            if (message.Message is null) throw Missing("message");
            if (message.Message.Length > MaxMessageLength)
                throw new PacketFormatException(PacketFormatError.LimitExceeded, $"message of {message.Message.Length} characters exceeds {MaxMessageLength}");
            return;
        }
        Validate(packet);
    }

    /// <summary>Checks the counts, lengths and required fields of <paramref name="packet"/> against the wire limits; throws <see cref="PacketFormatException"/> when it breaks one.</summary>
    public static void Validate(NetworkPacket packet)
    {
        switch (packet)
        {
            case IdentityPacket identity:
                ValidatePeer(identity.Identifier, identity.Addresses);
                ValidateText(identity.DisplayName, "displayName");
                ValidateText(identity.NetworkName, "networkName");
                ValidateText(identity.AgentVersion, "agentVersion");
                break;
            case DisconnectPacket disconnect:
                ValidateText(disconnect.Reason, "reason");
                ValidateText(disconnect.Refusal, "refusal");
                break;
            case CollectionSharePacket share:
                if (share.Peers is null) throw Missing("peers");
                if (share.Peers.Count > MaxPeersPerShare)
                    throw new PacketFormatException(PacketFormatError.LimitExceeded, $"{share.Peers.Count} peers exceed {MaxPeersPerShare}");
                foreach (PeerRecord? record in share.Peers)
                {
                    if (record is null) throw Missing("peers[]");
                    ValidatePeer(record.Identifier, record.Addresses);
                }
                break;
            case DataTransmissionPacket data:
                if (data.Data is null) throw Missing("data");
                if (!Enum.IsDefined(data.DataType))
                    throw new PacketFormatException(PacketFormatError.Malformed, $"unknown dataType {(int)data.DataType}");
                ValidateText(data.Name, "name");
                ValidateText(data.ContentType, "contentType");
                break;
            case PureMessagePacket message when message.IsFromUtf8:
                CheckMessageBytes(message.Utf8.Span);
                break;
            case PureMessagePacket message:
                if (message.Message is null) throw Missing("message");
                if (message.Message.Length > MaxMessageLength)
                    throw new PacketFormatException(PacketFormatError.LimitExceeded, $"message of {message.Message.Length} characters exceeds {MaxMessageLength}");
                if (message.Message.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0) RejectLoneSurrogates(message.Message);
                break;
            default:
                throw new PacketFormatException(PacketFormatError.UnknownType, $"unknown packet class {packet.GetType().Name}");
        }
    }

    /// <summary>Checks the identifier, addresses and texts of <paramref name="hello"/>.</summary>
    internal static void Validate(ChannelHello hello)
    {
        ValidatePeer(hello.Identifier, hello.Addresses);
        ValidateText(hello.NetworkName, "networkName");
        ValidateText(hello.AgentVersion, "agentVersion");
        ValidateText(hello.DisplayName, "displayName");
        if (hello.Session is { Length: 0 or > MaxSessionIdLength })
            throw new PacketFormatException(PacketFormatError.LimitExceeded, $"session id of {hello.Session.Length} characters is empty or exceeds {MaxSessionIdLength}");
        if (hello.Received is < 0) throw new PacketFormatException(PacketFormatError.Malformed, "received is negative");
        if (hello.Received is not null && hello.Session is null) throw Missing("session");
    }

    private static JsonTypeInfo FullTypeInfo(PacketType type) => type switch
    {
        PacketType.Identity => PacketJsonContext.Default.IdentityPacket,
        PacketType.Disconnect => PacketJsonContext.Default.DisconnectPacket,
        PacketType.CollectionShare => PacketJsonContext.Default.CollectionSharePacket,
        PacketType.DataTransmission => PacketJsonContext.Default.DataTransmissionPacket,
        PacketType.PureMessage => PacketJsonContext.Default.PureMessagePacket,
        _ => throw new PacketFormatException(PacketFormatError.UnknownType, $"unknown packet type {(int)type}"),
    };

    // The wire JSON of a packet whose payload travels as the binary tail: the same contract minus that property.
    private static JsonTypeInfo<T> WithoutProperty<T>(string name)
    {
        var options = new JsonSerializerOptions(PacketJsonContext.Default.Options)
        {
            TypeInfoResolver = PacketJsonContext.Default.WithAddedModifier(info =>
            {
                if (info.Type != typeof(T)) return;
                for (int i = info.Properties.Count - 1; i >= 0; i--)
                {
                    if (info.Properties[i].Name == name) info.Properties.RemoveAt(i);
                }
            }),
        };
        return (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
    }

    private static NetworkPacket ParseJsonForm(string json, JsonTypeInfo info)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json.Length > MaxJsonFormLength)
            throw new PacketFormatException(PacketFormatError.JsonTooLarge, $"JSON form of {json.Length} characters exceeds {MaxJsonFormLength}");
        object? value;
        try
        {
            value = JsonSerializer.Deserialize(json, info);
        }
        catch (Exception e) when (IsParseFailure(e))
        {
            throw new PacketFormatException(PacketFormatError.MalformedJson, $"malformed packet JSON: {e.Message}", e);
        }
        if (value is not NetworkPacket packet) throw new PacketFormatException(PacketFormatError.MalformedJson, "packet JSON is null");
        Validate(packet);
        return packet;
    }

    private static object Deserialize(ReadOnlySequence<byte> json, JsonTypeInfo info)
    {
        // A JSON part split across segments is copied into one pooled block (at most MaxJsonLength): the
        // multi-segment Utf8JsonReader throws IndexOutOfRangeException on some broken literals (found by the
        // garbage test), and one code path keeps trailing-data handling identical.
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> span;
            if (json.IsSingleSegment)
            {
                span = json.FirstSpan;
            }
            else
            {
                rented = ArrayPool<byte>.Shared.Rent((int)json.Length);
                json.CopyTo(rented);
                span = rented.AsSpan(0, (int)json.Length);
            }
            object? value = JsonSerializer.Deserialize(span, info);
            return value ?? throw new PacketFormatException(PacketFormatError.MalformedJson, "frame JSON is null");
        }
        catch (Exception e) when (IsParseFailure(e))
        {
            throw new PacketFormatException(PacketFormatError.MalformedJson, $"malformed frame JSON: {e.Message}", e);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // Hostile JSON surfaces as JsonException; the others cover contract corner cases (e.g. a missing discriminator
    // for the abstract base) so that nothing but PacketFormatException leaves the codec.
    private static bool IsParseFailure(Exception e) =>
        e is JsonException or NotSupportedException or InvalidOperationException or FormatException or ArgumentException or OverflowException;

    private static bool TryReadVarint(ReadOnlySequence<byte> source, out ulong value, out int consumed)
    {
        try
        {
            ReadOnlySpan<byte> first = source.FirstSpan;
            if (first.Length >= Varint.MaxLength || source.IsSingleSegment) return Varint.TryRead(first, out value, out consumed);
            Span<byte> scratch = stackalloc byte[Varint.MaxLength];
            int length = (int)Math.Min(source.Length, Varint.MaxLength);
            source.Slice(0, length).CopyTo(scratch);
            return Varint.TryRead(scratch[..length], out value, out consumed);
        }
        catch (FormatException e)
        {
            throw new PacketFormatException(PacketFormatError.Malformed, $"bad varint: {e.Message}", e);
        }
    }

    private static void ValidatePeer(string? identifier, List<string>? addresses)
    {
        if (string.IsNullOrEmpty(identifier)) throw Missing("identifier");
        if (identifier.Length > MaxIdentifierLength)
            throw new PacketFormatException(PacketFormatError.LimitExceeded, $"identifier of {identifier.Length} characters exceeds {MaxIdentifierLength}");
        if (addresses is null) throw Missing("addresses");
        if (addresses.Count > MaxAddressesPerPeer)
            throw new PacketFormatException(PacketFormatError.LimitExceeded, $"{addresses.Count} addresses exceed {MaxAddressesPerPeer}");
        foreach (string? address in addresses)
        {
            if (address is null) throw Missing("addresses[]");
            ValidateText(address, "address");
        }
    }

    private static void ValidateText(string? text, string field)
    {
        if (text is not null && text.Length > MaxTextLength)
            throw new PacketFormatException(PacketFormatError.LimitExceeded, $"{field} of {text.Length} characters exceeds {MaxTextLength}");
    }

    private static PacketFormatException Missing(string field) =>
        new(PacketFormatError.Malformed, $"required field '{field}' is missing or null");
}
