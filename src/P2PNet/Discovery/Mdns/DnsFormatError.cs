namespace P2PNet.Discovery.Mdns;

/// <summary>Why a DNS message could not be encoded or decoded.</summary>
internal enum DnsFormatError
{
    /// <summary>The input ended in the middle of a header, question, record or name.</summary>
    Truncated,

    /// <summary>The message exceeds <see cref="DnsCodec.MaxMessageSize"/>.</summary>
    MessageTooLarge,

    /// <summary>A section or the whole message holds more entries than the limits allow.</summary>
    TooManyRecords,

    /// <summary>A label is longer than 63 bytes (or uses a reserved label type).</summary>
    LabelTooLong,

    /// <summary>A name is longer than 255 bytes on the wire.</summary>
    NameTooLong,

    /// <summary>A name is malformed (empty label, dot inside a label).</summary>
    InvalidName,

    /// <summary>A compression pointer does not point strictly backwards.</summary>
    ForwardPointer,

    /// <summary>A name follows more compression pointers than <see cref="DnsCodec.MaxPointerHops"/>.</summary>
    CompressionLoop,

    /// <summary>A record's RDLENGTH runs past the end of the message, or its data runs past RDLENGTH.</summary>
    RdLengthOverrun,

    /// <summary>A TXT record holds more than <see cref="DnsCodec.MaxTxtStrings"/> strings, or one is over 255 bytes.</summary>
    TooManyTxtStrings,

    /// <summary>A record's data does not match its type (wrong address size, trailing bytes).</summary>
    InvalidRecordData,
}
