namespace P2PNet.Protocols.Dcutr;

/// <summary>The type of a DCUtR <c>HolePunch</c> message (its protobuf enum values).</summary>
public enum HolePunchType
{
    /// <summary>Carries the sender's observed addresses; sent by the initiator, answered in kind.</summary>
    Connect = 100,

    /// <summary>Tells the answering peer to dial now.</summary>
    Sync = 300,
}
