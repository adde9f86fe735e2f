namespace P2PNet.Bootstrap;

/// <summary>What the store did with a verified registration.</summary>
internal enum RegistrationOutcome
{
    /// <summary>Stored (new peer or refreshed).</summary>
    Accepted,
    /// <summary>Refused: its timestamp is not newer than the last accepted one for the PeerId.</summary>
    Replayed,
}
