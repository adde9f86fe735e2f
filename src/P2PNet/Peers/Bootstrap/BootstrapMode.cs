namespace P2PNet.Peers.Bootstrap;

/// <summary>How a bootstrap server answers.</summary>
public enum BootstrapMode
{
    /// <summary>Peer lists only; answers are not signed.</summary>
    Trustless,
    /// <summary>The server has an Ed25519 identity and signs every answer; it may carry network tasks.</summary>
    Authority,
}
