using System.Text;
using System.Text.Json.Serialization;

namespace P2PNet.Peers.Packets;

/// <summary>
/// A plain text message. It travels as UTF-8 and is kept in that form: a received message becomes a string only
/// when <see cref="Message"/> is first read (a 64 KiB message would otherwise cost a 128 KB string on the
/// large-object heap whether anyone looks at it or not). Binary users read and write the bytes through
/// <see cref="Utf8"/> and never make a string.
/// </summary>
public sealed class PureMessagePacket : NetworkPacket
{
    /// <summary>The longest message a channel sends or accepts, in characters (UTF-16 code units).</summary>
    public const int MaxLength = PacketCodec.MaxMessageLength;

    // Exactly one form is the source: the text (_fromUtf8 false; _text may be null only when set so, e.g. by a
    // JSON null) or the UTF-8 bytes (_fromUtf8 true; _text is their decoding once made). Readers racing on the
    // lazy forms each compute the same value, and a reference write is atomic, so a shared received packet is safe
    // to read from several threads.
    private string? _text = "";
    private ReadOnlyMemory<byte> _utf8;
    private byte[]? _encoded;
    private bool _fromUtf8;

    /// <summary>Creates an empty message.</summary>
    public PureMessagePacket() { }

    /// <summary>Creates a packet carrying <paramref name="message"/>.</summary>
    public PureMessagePacket(string message) => Message = message;

    /// <summary>
    /// Creates a packet carrying the UTF-8 text <paramref name="utf8"/>, without copying it: do not change those bytes
    /// until the packet is acknowledged (<see cref="PeerChannel.SendAndWaitAsync"/>), since a resumed channel writes
    /// unacknowledged packets again. Sending checks that the bytes are well-formed UTF-8 and within <see cref="MaxLength"/>.
    /// </summary>
    public PureMessagePacket(ReadOnlyMemory<byte> utf8) => Utf8 = utf8;

    /// <inheritdoc />
    [JsonIgnore]
    public override PacketType Type => PacketType.PureMessage;

    /// <summary>
    /// The text (at most <see cref="MaxLength"/> characters). For a packet made from UTF-8 bytes (a received one, or
    /// one built with <see cref="Utf8"/>) the string is made on first read and then kept.
    /// </summary>
    public string Message
    {
        get => _text ?? (_fromUtf8 ? _text = Decode(_utf8.Span) : null!);
        set
        {
            _fromUtf8 = false;
            _utf8 = default;
            _encoded = null;
            _text = value;
        }
    }

    /// <summary>
    /// The text as UTF-8 bytes, as received (no copy and no string). For a packet made from a string, its encoding
    /// (made on first read and then kept). Setting it replaces the text; the packet refers to the memory given, so do
    /// not change those bytes until the packet is acknowledged.
    /// </summary>
    [JsonIgnore]
    public ReadOnlyMemory<byte> Utf8
    {
        get
        {
            if (_fromUtf8) return _utf8;
            return _encoded ??= _text is null ? [] : Encoding.UTF8.GetBytes(_text);
        }
        set
        {
            _text = null;
            _encoded = null;
            _utf8 = value;
            _fromUtf8 = true;
        }
    }

    /// <summary>True when the bytes are the source and no string has been made of them yet.</summary>
    internal bool IsUtf8Only => _fromUtf8 && _text is null;

    /// <summary>True when the packet was made from UTF-8 bytes (received, or built through <see cref="Utf8"/>).</summary>
    internal bool IsFromUtf8 => _fromUtf8;

    /// <summary>The encoding kept by an earlier read of <see cref="Utf8"/> on a packet made from a string, if any.</summary>
    internal byte[]? EncodedText => _fromUtf8 ? null : _encoded;

    /// <summary>A received message: <paramref name="utf8"/> has been checked (well-formed, within the limit) already.</summary>
    internal static PureMessagePacket FromWire(byte[] utf8) => new() { _text = null, _utf8 = utf8, _fromUtf8 = true };

    /// <summary>At most <paramref name="maxChars"/> characters of the text, decoding only what that needs.</summary>
    internal string Preview(int maxChars)
    {
        if (_text is { } text || !_fromUtf8) return Cut(_text ?? "", maxChars);
        ReadOnlySpan<byte> bytes = _utf8.Span;
        int take = Math.Min(bytes.Length, maxChars * 3);
        // Never cut inside a character: step back over continuation bytes (10xxxxxx) to a lead byte.
        if (take < bytes.Length)
        {
            while (take > 0 && (bytes[take] & 0xC0) == 0x80) take--;
        }
        string head = Decode(bytes[..take]);
        return take < bytes.Length && head.Length <= maxChars ? head + "…" : Cut(head, maxChars);
    }

    private static string Cut(string text, int maxChars)
    {
        if (text.Length <= maxChars) return text;
        // Keep a surrogate pair whole.
        int end = char.IsHighSurrogate(text[maxChars - 1]) ? maxChars - 1 : maxChars;
        return string.Concat(text.AsSpan(0, end), "…");
    }

    private static string Decode(ReadOnlySpan<byte> utf8) => utf8.IsEmpty ? "" : Encoding.UTF8.GetString(utf8);
}
