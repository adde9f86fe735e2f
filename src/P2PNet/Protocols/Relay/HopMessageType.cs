namespace P2PNet.Protocols.Relay;

// The HopMessage.Type values on the wire.
internal enum HopMessageType
{
    Reserve = 0,
    Connect = 1,
    Status = 2,
}
