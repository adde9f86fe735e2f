using P2PNet.Core;

namespace P2PNet.Protocols.Relay;

/// <summary>A relayed connection's circuit ended.</summary>
/// <param name="Remote">The peer at the other end of the circuit.</param>
/// <param name="Relay">The relay that carried it.</param>
/// <param name="Error">
/// Why, when it did not close cleanly: <see cref="RelayError.LimitReached"/> when the relay cut it at its time or
/// data limit, <see cref="RelayError.CircuitReset"/> otherwise; null for a clean close.
/// </param>
public sealed record CircuitClosedEventArgs(PeerId Remote, PeerId Relay, RelayException? Error);
