using P2PNet.Core;

namespace P2PNet.Peers.Packets;

/// <summary>A frame or packet that breaks the P2PNet channel format, typed by <see cref="PacketFormatError"/>.</summary>
public sealed class PacketFormatException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public PacketFormatException(PacketFormatError error, string message) : base(message) => Error = error;

    /// <summary>Creates the exception with an inner cause.</summary>
    public PacketFormatException(PacketFormatError error, string message, Exception? inner) : base(message, inner) => Error = error;

    /// <summary>What was wrong.</summary>
    public PacketFormatError Error { get; }
}
