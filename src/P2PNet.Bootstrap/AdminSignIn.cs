namespace P2PNet.Bootstrap;

/// <summary>The admin sign-in request.</summary>
public sealed record AdminSignIn
{
    /// <summary>The admin password, or the sign-in token printed at start.</summary>
    public string Password { get; init; } = "";
}
