namespace P2PNet.Tests.Protocols.Dcutr;

// Shared with bench/P2PNet.Bench (linked source), as NatLab is.
/// <summary>How a lab node reaches the "internet" bridge.</summary>
internal enum NatKind
{
    /// <summary>On the bridge itself, with a public address.</summary>
    None,

    /// <summary>Port-preserving masquerade with the listen port forwarded (reachable).</summary>
    Forwarded,

    /// <summary>Plain masquerade: endpoint-independent mapping, address-and-port-dependent filtering (a home router).</summary>
    Masquerade,

    /// <summary><c>masquerade random</c>: endpoint-dependent mapping (a symmetric NAT).</summary>
    Symmetric,
}
