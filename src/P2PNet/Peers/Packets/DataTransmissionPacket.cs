using System.Text.Json.Serialization;

namespace P2PNet.Peers.Packets;

/// <summary>
/// Binary data: a file, a task or anything else. On the wire <see cref="Data"/> travels raw in the frame's
/// binary tail; only the JSON form given to handlers (<see cref="PacketCodec.ToJson"/>) carries it as base64.
/// </summary>
public sealed class DataTransmissionPacket : NetworkPacket
{
    /// <summary>Creates an empty packet.</summary>
    public DataTransmissionPacket() { }

    /// <summary>Creates a packet carrying <paramref name="data"/>.</summary>
    public DataTransmissionPacket(byte[] data, DataPayloadFormat dataType = DataPayloadFormat.MiscData, string? name = null, string? contentType = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        Data = data;
        DataType = dataType;
        Name = name;
        ContentType = contentType;
    }

    /// <inheritdoc />
    [JsonIgnore]
    public override PacketType Type => PacketType.DataTransmission;

    /// <summary>The payload (bounded only by the frame length limit).</summary>
    public byte[] Data { get; set; } = [];

    /// <summary>What <see cref="Data"/> is.</summary>
    public DataPayloadFormat DataType { get; set; }

    /// <summary>Optional file name or label (at most <see cref="PacketCodec.MaxTextLength"/> characters).</summary>
    public string? Name { get; set; }

    /// <summary>Optional media type, e.g. <c>application/octet-stream</c>.</summary>
    public string? ContentType { get; set; }
}
