namespace P2PNet.Peers.Packets;

/// <summary>What the bytes of a <see cref="DataTransmissionPacket"/> are.</summary>
public enum DataPayloadFormat
{
    /// <summary>Application-defined bytes.</summary>
    MiscData = 0,

    /// <summary>The content of a file; <see cref="DataTransmissionPacket.Name"/> is its file name.</summary>
    File = 1,

    /// <summary>A network task for the receiver to handle.</summary>
    Task = 2,
}
