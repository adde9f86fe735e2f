namespace P2PNet.Peers.Packets;

/// <summary>
/// The kind of a <see cref="NetworkPacket"/>: the type byte of its frame and, by name, the <c>type</c>
/// discriminator of its JSON form. Frame type 0 is reserved for the channel's <see cref="ChannelHello"/>.
/// </summary>
public enum PacketType : byte
{
    /// <summary>An <see cref="IdentityPacket"/>.</summary>
    Identity = 1,

    /// <summary>A <see cref="DisconnectPacket"/>.</summary>
    Disconnect = 2,

    /// <summary>A <see cref="CollectionSharePacket"/>.</summary>
    CollectionShare = 3,

    /// <summary>A <see cref="DataTransmissionPacket"/>.</summary>
    DataTransmission = 4,

    /// <summary>A <see cref="PureMessagePacket"/>.</summary>
    PureMessage = 5,
}
