namespace P2PNet.Protocols.AutoNat;

// The messages of /libp2p/autonat/2/dial-request (one `Message` with a oneof each) and of
// /libp2p/autonat/2/dial-back, as libp2p/specs autonat/autonat-v2.md defines them. The wire codec is AutoNatCodec.

/// <summary>One message of the dial-request stream (the spec's <c>Message.msg</c> oneof).</summary>
internal abstract record AutoNatMessage;

/// <summary><c>DialRequest { repeated bytes addrs = 1; fixed64 nonce = 2; }</c>; addresses stay raw until the server picks one.</summary>
internal sealed record DialRequest(IReadOnlyList<byte[]> Addrs, ulong Nonce) : AutoNatMessage;

/// <summary><c>DialResponse { ResponseStatus status = 1; uint32 addrIdx = 2; DialStatus dialStatus = 3; }</c>.</summary>
internal sealed record DialResponse(ResponseStatus Status, uint AddrIdx, DialStatus DialStatus) : AutoNatMessage;

/// <summary><c>DialDataRequest { uint32 addrIdx = 1; uint64 numBytes = 2; }</c>.</summary>
internal sealed record DialDataRequest(uint AddrIdx, ulong NumBytes) : AutoNatMessage;

/// <summary><c>DialDataResponse { bytes data = 1; }</c>; only the length of the data matters.</summary>
internal sealed record DialDataResponse(int DataLength) : AutoNatMessage;

/// <summary><c>DialStatus</c>: what became of the dial back.</summary>
internal enum DialStatus : uint
{
    Unused = 0,
    DialError = 100,
    DialBackError = 101,
    Ok = 200,
}

/// <summary><c>DialResponse.ResponseStatus</c>: whether the server served the request.</summary>
internal enum ResponseStatus : uint
{
    InternalError = 0,
    RequestRejected = 100,
    DialRefused = 101,
    Ok = 200,
}
