namespace P2PNet.Swarm;

/// <summary>Who opened a connection.</summary>
public enum ConnectionDirection
{
    /// <summary>The remote dialed us.</summary>
    Inbound,
    /// <summary>We dialed the remote.</summary>
    Outbound,
}
