namespace P2PNet.Peers.Bootstrap;

/// <summary>Limits of the bootstrap protocol, checked by both sides before trusting a field.</summary>
public static class BootstrapLimits
{
    /// <summary>Most addresses in one registration.</summary>
    public const int MaxAddresses = 16;

    /// <summary>Longest address text.</summary>
    public const int MaxAddressLength = 256;

    /// <summary>Longest network name.</summary>
    public const int MaxNetworkLength = 64;

    /// <summary>Longest PeerId text (an inlined Ed25519 key is 52 characters; hashed keys are longer).</summary>
    public const int MaxPeerIdLength = 128;

    /// <summary>Most peers a client accepts from one answer.</summary>
    public const int MaxPeersPerAnswer = 200;

    /// <summary>Most tasks a client accepts from one answer.</summary>
    public const int MaxTasksPerAnswer = 1000;

    /// <summary>Largest answer body a client reads.</summary>
    public const int MaxAnswerBytes = 1 << 20;

    /// <summary>Largest registration body a server reads.</summary>
    public const int MaxRegistrationBytes = 16 * 1024;
}
