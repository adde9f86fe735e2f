namespace P2PNet.Protocols.AutoNat;

/// <summary>Whether peers on the internet can dial us, as AutoNAT v2 servers found.</summary>
public enum Reachability
{
    /// <summary>Not known yet: no AutoNAT server has answered, or they disagree.</summary>
    Unknown,

    /// <summary>At least one of our addresses was dialed back by the AutoNAT servers.</summary>
    Public,

    /// <summary>The AutoNAT servers could not dial any of the addresses tested.</summary>
    Private,
}
