namespace P2PNet.Protocols.Relay;

// The StopMessage.Type values on the wire.
internal enum StopMessageType
{
    Connect = 0,
    Status = 1,
}
