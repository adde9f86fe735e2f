using P2PNet.Core;

namespace P2PNet.Protocols.Relay;

// The spec's Reservation message: expiry (Unix seconds, UTC), the relay's addresses, the signed voucher.
internal sealed record ReservationMessage(ulong Expire, IReadOnlyList<Multiaddr> Addrs, byte[]? Voucher);
