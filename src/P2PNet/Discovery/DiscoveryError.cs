namespace P2PNet.Discovery;

/// <summary>Why a discovery operation failed.</summary>
public enum DiscoveryError
{
    /// <summary>No up interface matched the selection (or none has the needed address family).</summary>
    NoInterface,
    /// <summary>A socket could not be opened, bound or joined to the multicast group.</summary>
    SocketFailed,
    /// <summary>A message broke the format or one of its limits.</summary>
    Malformed,
    /// <summary>The component was disposed.</summary>
    Disposed,
}
