namespace P2PNet.Core;

/// <summary>The multiaddr protocols P2PNet understands, with their multicodec codes.</summary>
public enum MultiaddrProtocol
{
    /// <summary>/ip4/A.B.C.D</summary>
    Ip4 = 0x04,
    /// <summary>/tcp/PORT</summary>
    Tcp = 0x06,
    /// <summary>/ip6/ADDR</summary>
    Ip6 = 0x29,
    /// <summary>/dns/NAME</summary>
    Dns = 0x35,
    /// <summary>/dns4/NAME</summary>
    Dns4 = 0x36,
    /// <summary>/dns6/NAME</summary>
    Dns6 = 0x37,
    /// <summary>/dnsaddr/NAME</summary>
    DnsAddr = 0x38,
    /// <summary>/udp/PORT</summary>
    Udp = 0x0111,
    /// <summary>/p2p/PEERID</summary>
    P2p = 0x01A5,
    /// <summary>/p2p-circuit: a relayed hop (no value); <c>RELAY/p2p-circuit/p2p/TARGET</c>.</summary>
    P2pCircuit = 0x0122,
    /// <summary>/memory/ID: an in-process transport for tests (a 64-bit id, 8 bytes big-endian in binary).</summary>
    Memory = 0x0309,
}
