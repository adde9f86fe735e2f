namespace P2PNet.Protocols.Relay;

// How a bridged circuit ended on the relay.
internal enum CircuitOutcome
{
    Closed,
    DurationLimit,
    DataLimit,
    Reset,
}
