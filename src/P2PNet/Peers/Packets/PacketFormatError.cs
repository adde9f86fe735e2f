namespace P2PNet.Peers.Packets;

/// <summary>Why a frame or a packet's JSON form was rejected.</summary>
public enum PacketFormatError
{
    /// <summary>The announced frame length exceeds the frame limit.</summary>
    FrameTooLarge,

    /// <summary>The JSON part exceeds <see cref="PacketCodec.MaxJsonLength"/> (or the JSON form its limit).</summary>
    JsonTooLarge,

    /// <summary>The frame type byte or the JSON <c>type</c> is not a known packet type.</summary>
    UnknownType,

    /// <summary>The JSON did not parse as the packet type.</summary>
    MalformedJson,

    /// <summary>A packet other than <see cref="DataTransmissionPacket"/> (or a hello) had a binary tail.</summary>
    UnexpectedTail,

    /// <summary>A count or length limit was exceeded (peers, addresses, identifier, message, text).</summary>
    LimitExceeded,

    /// <summary>The frame structure is broken (bad varint, lengths that do not add up, missing required field).</summary>
    Malformed,

    /// <summary>A <see cref="ChannelHello"/> frame arrived where only packets are accepted.</summary>
    UnexpectedHello,
}
